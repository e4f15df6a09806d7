//! The dashboard: server-rendered pages (minijinja templates embedded in the binary), one
//! stylesheet, and the run page from the HTML report's renderer. Reading needs no
//! JavaScript; the Content-Security-Policy admits only this server's stylesheet and the
//! report's own inline style and script, by hash.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::{Environment, context};
use serde::Deserialize;

use crate::api::{FleetQuery, RunsQuery};
use crate::auth::{Reader, digest};
use crate::caller::Caller;
use crate::error::ApiError;
use crate::fleet;
use crate::session::COOKIE;
use crate::state::App;
use shipcheck_core::statement::{Alert, Attestation};

type AppState = State<Arc<App>>;

const STYLESHEET: &str = include_str!("../templates/app.css");

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, text) in [
            ("base.html", include_str!("../templates/base.html")),
            ("fleet.html", include_str!("../templates/fleet.html")),
            (
                "deployment.html",
                include_str!("../templates/deployment.html"),
            ),
            ("signin.html", include_str!("../templates/signin.html")),
            ("error.html", include_str!("../templates/error.html")),
        ] {
            // The templates are part of the binary; a test renders each of them.
            if let Err(e) = env.add_template(name, text) {
                eprintln!("shipcheck serve: template {name}: {e}");
            }
        }
        env
    })
}

fn render(name: &str, ctx: minijinja::Value) -> Result<Html<String>, PageError> {
    templates()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map(Html)
        .map_err(|e| PageError(ApiError::Internal(format!("template {name}: {e}"))))
}

/// An error as a page.
pub fn error_page(status: StatusCode, message: &str) -> String {
    render(
        "error.html",
        context! { status => status.to_string(), message => message },
    )
    .map(|h| h.0)
    .unwrap_or_else(|_| format!("{status}: {message}"))
}

/// The signed-in person, for the page header.
fn who(reader: &Reader) -> minijinja::Value {
    match &reader.0 {
        Some(c) => context! {
            who => c.name,
            role => c.role.to_string(),
            csrf => c.session.as_ref().map(|(_, csrf)| csrf.clone()),
        },
        None => context! {},
    }
}

fn age(seconds: Option<i64>) -> String {
    match seconds {
        None => "unknown".into(),
        Some(s) if s < 60 => format!("{}s ago", s.max(0)),
        Some(s) if s < 3600 => format!("{} min ago", s / 60),
        Some(s) if s < 86_400 => format!("{} h ago", s / 3600),
        Some(s) => format!("{} d ago", s / 86_400),
    }
}

/// `/`: the fleet.
pub async fn fleet_page(
    State(app): AppState,
    reader: Result<Reader, ApiError>,
    uri: axum::http::Uri,
) -> Result<Html<String>, PageError> {
    let reader = reader?;
    let given = FleetQuery::parse(uri.query()).labels;
    let labels = crate::model::label_filter(&given)?;
    let shared = Arc::clone(&app);
    let rows = app
        .ledger(move |l| fleet::overview(l, &labels, jiff::Timestamp::now(), &shared.gates))
        .await?;
    let rows: Vec<minijinja::Value> = rows
        .into_iter()
        .map(|r| {
            let age = age(r.age_seconds);
            minijinja::Value::from_serialize(&r).merge_age(age)
        })
        .collect();
    render(
        "fleet.html",
        context! { rows => rows, label => given.join(" "), ..who(&reader) },
    )
}

/// Adds the human age to a serialized fleet row.
trait MergeAge {
    fn merge_age(self, age: String) -> minijinja::Value;
}

impl MergeAge for minijinja::Value {
    fn merge_age(self, age: String) -> minijinja::Value {
        context! { age => age, ..self }
    }
}

#[derive(Debug, Deserialize)]
pub struct DiffQuery {
    pub environment: Option<String>,
    pub a: String,
    pub b: String,
}

/// `/deployments/{name}`: its runs over time and its baseline.
pub async fn deployment_page(
    State(app): AppState,
    reader: Result<Reader, ApiError>,
    Path(deployment): Path<String>,
    query: Result<Query<RunsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Html<String>, PageError> {
    let reader = reader?;
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    deployment_view(&app, &reader, deployment, q, None).await
}

/// `/deployments/{name}/diff?a=&b=`: the page with the difference between two runs.
pub async fn diff_page(
    State(app): AppState,
    reader: Result<Reader, ApiError>,
    Path(deployment): Path<String>,
    query: Result<Query<DiffQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Html<String>, PageError> {
    let reader = reader?;
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let id = |text: &str| {
        text.trim()
            .trim_start_matches('#')
            .parse::<i64>()
            .map_err(|_| {
                ApiError::BadRequest(format!(
                    "`{text}` is not a run id (the numbers the run list shows)"
                ))
            })
    };
    let (a, b) = (id(&q.a)?, id(&q.b)?);
    let name = deployment.clone();
    let diff = app
        .ledger(move |l| {
            let (ra, rb) = (l.run(a)?, l.run(b)?);
            for (id, r) in [(a, &ra), (b, &rb)] {
                if r.deployment_id() != name {
                    return Err(shipcheck_ledger::LedgerError::NotFound(format!(
                        "run {id} belongs to deployment `{}`, not `{name}`",
                        r.deployment_id()
                    )));
                }
            }
            Ok(shipcheck_engine::history::diff(a, &ra, b, &rb, &[], &[]))
        })
        .await?;
    let runs = RunsQuery {
        environment: q.environment,
        before: None,
        limit: None,
    };
    deployment_view(&app, &reader, deployment, runs, Some(diff)).await
}

async fn deployment_view(
    app: &App,
    reader: &Reader,
    deployment: String,
    q: RunsQuery,
    diff: Option<shipcheck_engine::history::Diff>,
) -> Result<Html<String>, PageError> {
    let name = deployment.clone();
    let environment = q.environment.clone().filter(|e| !e.is_empty());
    let env = environment.clone();
    let limit = q.limit.unwrap_or(50);
    let (runs, baseline, gate, attested, alerted) = app
        .ledger(move |l| {
            let runs = fleet::runs(l, &name, env.as_deref(), q.before, limit)?;
            let baseline = fleet::baseline(l, &name, env.as_deref())?;
            let (gate, attested, alerted) = match env.as_deref() {
                Some(e) if !runs.is_empty() => (
                    Some(crate::statements::gate(l, &name, e)?),
                    l.scoped::<Attestation>(shipcheck_ledger::Kind::Attestation, &name, e)?,
                    l.scoped::<Alert>(shipcheck_ledger::Kind::Alert, &name, e)?,
                ),
                _ => (None, Vec::new(), Vec::new()),
            };
            Ok((runs, baseline, gate, attested, alerted))
        })
        .await?;
    let alerts: Vec<(i64, Alert)> = alerted.into_iter().rev().take(SHOWN_ATTESTATIONS).collect();
    let attestations: Vec<AttestationRow> = attested
        .into_iter()
        .rev()
        .take(SHOWN_ATTESTATIONS)
        .map(|(_, a)| AttestationRow::of(a))
        .collect();
    if runs.is_empty() && q.before.is_none() {
        return Err(ApiError::NotFound(format!(
            "no deployment `{deployment}` has runs on this server"
        ))
        .into());
    }
    let older = (runs.len() as i64 >= limit.clamp(1, fleet::MAX_PAGE))
        .then(|| runs.last().map(|r| r.id))
        .flatten();
    let (a, b) = match &diff {
        Some(d) => (d.a.to_string(), d.b.to_string()),
        None => (
            runs.get(1).map(|r| r.id.to_string()).unwrap_or_default(),
            runs.first().map(|r| r.id.to_string()).unwrap_or_default(),
        ),
    };
    render(
        "deployment.html",
        context! {
            deployment => deployment, environment => environment, runs => runs,
            baseline => baseline, older => older, diff => diff, a => a, b => b, gate => gate,
            attestations => attestations, alerts => alerts, ..who(reader)
        },
    )
}

/// How many of the newest attestations (and alerts) a deployment's page lists.
const SHOWN_ATTESTATIONS: usize = 20;

/// An attestation as the deployment's page lists it, with a link to its evidence.
#[derive(serde::Serialize)]
struct AttestationRow {
    item: String,
    role: &'static str,
    by: String,
    at: String,
    expires: Option<String>,
    note: String,
    /// The evidence's name, and where to read it (a file on this server, or the link).
    evidence: Option<(String, String)>,
}

impl AttestationRow {
    fn of(a: Attestation) -> AttestationRow {
        use shipcheck_core::statement::EvidenceRef;
        let evidence = match a.evidence {
            Some(EvidenceRef::File { name, sha256, size }) => {
                let href = format!(
                    "/api/v1/evidence/{sha256}?name={}",
                    crate::api::percent_encode(&name)
                );
                Some((format!("{name} ({size} bytes)"), href))
            }
            // Only web links become links (never `javascript:` or the like).
            Some(EvidenceRef::Url { url })
                if url.starts_with("https://") || url.starts_with("http://") =>
            {
                Some((url.clone(), url))
            }
            Some(EvidenceRef::Url { .. }) | None => None,
        };
        AttestationRow {
            item: a.item,
            role: a.role.as_str(),
            by: a.by,
            at: a.attested_at,
            expires: a.expires,
            note: a.note,
            evidence,
        }
    }
}

/// `/runs/{id}`: the run, rendered by the HTML report, with its sign-offs.
pub async fn run_page(
    State(app): AppState,
    reader: Result<Reader, ApiError>,
    Path(id): Path<i64>,
) -> Result<Html<String>, PageError> {
    reader?;
    let html = app
        .ledger(move |l| {
            let run = l.run(id)?;
            let signoffs: Vec<shipcheck_core::statement::Signoff> = l
                .scoped::<shipcheck_core::statement::Signoff>(
                    shipcheck_ledger::Kind::Signoff,
                    &run.deployment_id(),
                    &run.environment,
                )?
                .into_iter()
                .map(|(_, s)| s)
                .filter(|s| s.run == id)
                .collect();
            Ok(shipcheck_report::html::render(&run, &signoffs))
        })
        .await?;
    Ok(Html(html))
}

/// `/static/app.css`.
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// `GET /signin`.
pub async fn signin_page() -> Result<Html<String>, PageError> {
    render("signin.html", context! {})
}

#[derive(Deserialize)]
pub struct SignIn {
    token: String,
}

/// `POST /signin`: a valid token starts a session.
pub async fn signin(
    State(app): AppState,
    form: Result<Form<SignIn>, axum::extract::rejection::FormRejection>,
) -> Result<Response, PageError> {
    let Ok(Form(form)) = form else {
        return Ok((
            StatusCode::BAD_REQUEST,
            render(
                "signin.html",
                context! { message => "the form needs a token" },
            )?,
        )
            .into_response());
    };
    let sha = digest(form.token.trim());
    let wanted = sha.clone();
    let known = app
        .ledger(move |l| {
            Ok(l.tokens()?
                .into_iter()
                .any(|t| crate::session::same_secret(&t.sha256, &wanted)))
        })
        .await?;
    if !known {
        return Ok((
            StatusCode::UNAUTHORIZED,
            render(
                "signin.html",
                context! { message => "that token is unknown or revoked" },
            )?,
        )
            .into_response());
    }
    let (id, _csrf) = app.sessions.start(sha, Instant::now())?;
    let ttl = app.sessions.ttl.unwrap_or(crate::session::SESSION_TTL);
    let cookie = format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        ttl.as_secs(),
        if app.tls { "; Secure" } else { "" }
    );
    let mut response = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(response)
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

/// `POST /signout`: ends the session (the form carries the CSRF token).
pub async fn signout(
    State(app): AppState,
    caller: Result<Caller, ApiError>,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, PageError> {
    let caller = caller?;
    let posted = form.ok().and_then(|Form(f)| f.csrf);
    caller.check_csrf(posted.as_deref())?;
    if let Some((id, _)) = &caller.session {
        app.sessions.end(id);
    }
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "shipcheck_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    Ok((headers, Redirect::to("/signin")).into_response())
}

/// An error on a dashboard page: the same causes, shown as a page.
pub struct PageError(pub ApiError);

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        if status == StatusCode::UNAUTHORIZED {
            return axum::response::Redirect::to("/signin").into_response();
        }
        let body = error_page(status, &self.0.to_string());
        (status, axum::response::Html(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_renders() {
        for name in ["fleet.html", "deployment.html", "signin.html", "error.html"] {
            let out = render(
                name,
                context! { deployment => "d", status => "404", message => "m" },
            );
            assert!(out.is_ok(), "{name}");
        }
        assert_eq!(age(Some(7200)), "2 h ago");
    }
}
