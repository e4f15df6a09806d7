//! Alerts to webhooks, in two formats: generic JSON signed with HMAC-SHA256
//! (`X-Shipcheck-Signature: sha256=HEX` over the body, keyed with
//! `$SHIPCHECK_WEBHOOK_SECRET`), and Slack-compatible incoming-webhook JSON. Each delivery
//! retries with backoff and every attempt is recorded. A webhook URL often holds a secret
//! (Slack's do): it is shown as scheme, host and port only, in messages and records.

use std::sync::Arc;
use std::time::Duration;

use shipcheck_core::statement::Alert;
use shipcheck_ledger::deliveries::DeliveryRow;

use crate::state::App;

/// The variable holding the HMAC key of JSON webhooks.
pub const SECRET_ENV: &str = "SHIPCHECK_WEBHOOK_SECRET";
/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Shipcheck-Signature";
/// Attempts per delivery, and the wait before the first retry (doubled each time).
pub const ATTEMPTS: i64 = 5;
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Slack,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Slack => "slack",
        }
    }
}

/// A webhook: `URL`, `json=URL` or `slack=URL`.
#[derive(Clone)]
pub struct Webhook {
    url: reqwest::Url,
    pub format: Format,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Webhook({} {})", self.format.as_str(), self.shown())
    }
}

impl Webhook {
    pub fn parse(text: &str) -> Result<Webhook, String> {
        let (format, url) = match text.split_once('=') {
            Some(("slack", url)) => (Format::Slack, url),
            Some(("json", url)) => (Format::Json, url),
            _ => (Format::Json, text),
        };
        let url = reqwest::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                "a webhook is `URL`, `json=URL` or `slack=URL` with an http(s) URL".to_string()
            })?;
        Ok(Webhook { url, format })
    }

    /// The URL as it may be shown: scheme, host and port, then `/…` when there is more.
    pub fn shown(&self) -> String {
        let port = self.url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let more = if self.url.path() == "/" && self.url.query().is_none() {
            ""
        } else {
            "/…"
        };
        format!(
            "{}://{}{port}{more}",
            self.url.scheme(),
            self.url.host_str().unwrap_or_default()
        )
    }
}

/// The body of `alert` (record `seq`) in `format`.
pub fn body(alert: &Alert, seq: i64, format: Format) -> Vec<u8> {
    let value = match format {
        Format::Json => serde_json::json!({
            "event": "shipcheck.drift",
            "alert": seq,
            "deployment": alert.deployment,
            "environment": alert.environment,
            "phase": alert.phase,
            "run": alert.run,
            "baseline": alert.baseline,
            "raised_at": alert.raised_at,
            "findings": alert.findings,
        }),
        Format::Slack => {
            let lines: Vec<String> = alert
                .findings
                .iter()
                .map(|f| match &f.item {
                    Some(item) => format!("• `{item}`: {}", f.detail),
                    None => format!("• {}", f.detail),
                })
                .collect();
            serde_json::json!({
                "text": format!(
                    "shipcheck: drift in *{}* ({}) at {}, run {} against the deploy's baseline (run {}):\n{}",
                    alert.deployment,
                    alert.environment,
                    alert.phase.as_deref().unwrap_or("a scheduled run"),
                    alert.run,
                    alert.baseline,
                    lines.join("\n")
                )
            })
        }
    };
    serde_json::to_vec(&value).unwrap_or_default()
}

/// `sha256=HEX` of `body` keyed with `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, body);
    format!("sha256={}", shipcheck_core::hex::hex(tag.as_ref()))
}

/// Delivers alert `seq` to every webhook, each on its own task.
pub fn deliver(app: &Arc<App>, hooks: &[Webhook], secret: Option<&[u8]>, seq: i64, alert: &Alert) {
    for hook in hooks {
        let (app, hook) = (Arc::clone(app), hook.clone());
        let payload = body(alert, seq, hook.format);
        let signed = secret.map(|s| signature(s, &payload));
        tokio::spawn(async move { deliver_one(&app, &hook, seq, payload, signed).await });
    }
}

async fn deliver_one(
    app: &App,
    hook: &Webhook,
    seq: i64,
    payload: Vec<u8>,
    signed: Option<String>,
) {
    let tls = match shipcheck_net::client_config(None, false) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("shipcheck serve: webhook {}: {e}", hook.shown());
            return;
        }
    };
    let client = match reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("shipcheck/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "shipcheck serve: webhook {}: {}",
                hook.shown(),
                e.without_url()
            );
            return;
        }
    };
    let mut wait = FIRST_BACKOFF;
    for attempt in 1..=ATTEMPTS {
        let mut request = client
            .post(hook.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(payload.clone());
        if let Some(s) = &signed {
            request = request.header(SIGNATURE_HEADER, s);
        }
        // The error's text never holds the URL (it may hold a secret).
        let (status, error) = match request.send().await {
            Ok(r) if r.status().is_success() => (i64::from(r.status().as_u16()), None),
            Ok(r) => (
                i64::from(r.status().as_u16()),
                Some(format!("answered {}", r.status())),
            ),
            Err(e) => (0, Some(e.without_url().to_string())),
        };
        let delivered = error.is_none();
        app.events.delivery(hook.format.as_str(), delivered);
        let row = DeliveryRow {
            id: 0,
            alert_seq: seq,
            target: hook.shown(),
            format: hook.format.as_str().into(),
            attempt,
            status,
            error,
            at_ms: jiff::Timestamp::now().as_millisecond(),
        };
        if let Err(e) = app.ledger(move |l| l.record_delivery(&row)).await {
            eprintln!("shipcheck serve: webhook {}: {e}", hook.shown());
        }
        if delivered {
            return;
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
    eprintln!(
        "shipcheck serve: webhook {}: alert {seq} not delivered after {ATTEMPTS} attempts",
        hook.shown()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_url_is_shown_without_its_secret_parts() {
        let h = Webhook::parse("slack=https://hooks.slack.test/services/T0/B0/SECRETPART").unwrap();
        assert_eq!(h.format, Format::Slack);
        assert_eq!(h.shown(), "https://hooks.slack.test/…");
        assert!(!format!("{h:?}").contains("SECRETPART"));
        let h = Webhook::parse("http://user:pw@127.0.0.1:9000/hook?token=t").unwrap();
        assert_eq!(h.shown(), "http://127.0.0.1:9000/…");
        assert!(Webhook::parse("ftp://x/").is_err());
        assert!(Webhook::parse("json=not a url").is_err());
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
