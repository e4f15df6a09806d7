//! The JSON API under `/api/v1`. Each route is declared once, in [`api_routes!`], which
//! builds both the router and the OpenAPI document's operations from the handlers' types.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use shipcheck_core::deployment::{DeploymentId, check_labels};
use shipcheck_core::outcome::{ItemResult, RUN_SCHEMA, Run, Status};

use crate::auth::Reader;
use crate::caller::Caller;
use crate::error::ApiError;
use crate::fleet;
use crate::model::{DeliveryView, EvidenceBytes, GateView, ItemDocument, JobView, Listed};
use crate::model::{FleetRow, Health, Pushed, RunBrief, RunDocument, label_filter};
use crate::openapi::{Operation, declare};
use crate::state::App;
use crate::statements::{NewAttestation, NewDeploy, NewSignoff, NewWaiver, Recorded};
use shipcheck_core::statement::{Alert, Attestation, Deploy, Signoff, Waiver};
use shipcheck_ledger::Kind;

type AppState = State<Arc<App>>;

/// Declares the API's routes once: the router, and the OpenAPI operations with their
/// request and response types.
macro_rules! api_routes {
    ($($method:ident $path:literal => $handler:path, $summary:literal, auth: $auth:literal, body: $req:ty, answers: $resp:ty;)*) => {
        /// The API's router.
        pub fn router() -> axum::Router<Arc<App>> {
            axum::Router::new()
                $(.route($path, axum::routing::$method($handler)))*
        }

        /// The API's operations, for the OpenAPI document.
        pub fn operations(generator: &mut schemars::SchemaGenerator) -> Vec<Operation> {
            vec![$(declare::<$req, $resp>(generator, stringify!($method), $path, $summary, $auth),)*]
        }
    };
}

api_routes! {
    get "/api/v1/deployments" => deployments, "Every deployment and environment with its latest run (filter: label=KEY=VALUE, repeatable)", auth: "viewer", body: (), answers: Vec<FleetRow>;
    get "/api/v1/deployments/{deployment}/runs" => deployment_runs, "A deployment's runs, newest first (environment, before, limit)", auth: "viewer", body: (), answers: Vec<RunBrief>;
    post "/api/v1/runs" => push_run, "Record a run made elsewhere (`shipcheck check --push`)", auth: "pusher", body: RunDocument, answers: Pushed;
    get "/api/v1/runs/{id}" => run, "One recorded run, as `check --format json` writes it", auth: "viewer", body: (), answers: RunDocument;
    get "/api/v1/runs/{id}/items" => run_items, "A run's item results in pack order (filter: status=S, repeatable)", auth: "viewer", body: (), answers: Vec<ItemDocument>;
    get "/api/v1/runs/{id}/items/{item}" => run_item, "One item result of a run, by pack:id or a unique id", auth: "viewer", body: (), answers: ItemDocument;
    get "/api/v1/evidence/{sha256}" => evidence, "An attestation's evidence file, by its SHA-256 (name=FILE names the download)", auth: "viewer", body: (), answers: EvidenceBytes;
    get "/api/v1/deployments/{deployment}/gate" => gate, "The gate of a deployment in an environment, as the ledger stands now (phase=P: for the items due by P)", auth: "viewer", body: (), answers: GateView;
    get "/api/v1/deployments/{deployment}/attestations" => list_attestations, "The attestations that apply to a deployment in an environment, oldest first", auth: "viewer", body: (), answers: Vec<Listed<Attestation>>;
    get "/api/v1/deployments/{deployment}/signoffs" => list_signoffs, "The sign-offs of a deployment's runs in an environment, oldest first", auth: "viewer", body: (), answers: Vec<Listed<Signoff>>;
    get "/api/v1/deployments/{deployment}/waivers" => list_waivers, "The ledger's waivers for a deployment in an environment, oldest first", auth: "viewer", body: (), answers: Vec<Listed<Waiver>>;
    post "/api/v1/deployments/{deployment}/attestations" => post_attestation, "Attest a manual item of the deployment's latest run", auth: "attester:ROLE", body: NewAttestation, answers: Recorded;
    get "/api/v1/deployments/{deployment}/signoff-message" => signoff_message, "The exact message a sign-off by the caller must sign (SSHSIG, namespace shipcheck), for the run (default: the latest) and role", auth: "signer:ROLE", body: (), answers: crate::statements::SignoffMessage;
    post "/api/v1/deployments/{deployment}/signoffs" => post_signoff, "Sign off a run (default: the latest)", auth: "signer:ROLE", body: NewSignoff, answers: Recorded;
    post "/api/v1/deployments/{deployment}/waivers" => post_waiver, "Waive an item until a date", auth: "admin", body: NewWaiver, answers: Recorded;
    get "/api/v1/deployments/{deployment}/deploys" => list_deploys, "A deployment's recorded deploys in an environment, oldest first", auth: "viewer", body: (), answers: Vec<Listed<Deploy>>;
    get "/api/v1/deployments/{deployment}/alerts" => list_alerts, "Drift alerts of a deployment in an environment, oldest first", auth: "viewer", body: (), answers: Vec<Listed<Alert>>;
    get "/api/v1/alerts/{id}/deliveries" => deliveries, "Every attempt to deliver an alert to the webhooks", auth: "viewer", body: (), answers: Vec<DeliveryView>;
    get "/api/v1/deployments/{deployment}/jobs" => jobs, "The scheduler's jobs of a deployment, by due time", auth: "viewer", body: (), answers: Vec<JobView>;
    post "/api/v1/deployments/{deployment}/deploys" => post_deploy, "Record a deploy (at the server's time): the phases after it fall due from now on", auth: "pusher", body: NewDeploy, answers: Recorded;
    get "/api/v1/openapi.json" => openapi, "This document", auth: "none", body: (), answers: serde_json::Value;
}

/// Query of the fleet overview.
#[derive(Debug, Default)]
pub struct FleetQuery {
    pub labels: Vec<String>,
}

impl FleetQuery {
    /// Reads `label=KEY=VALUE` pairs (repeatable) from a raw query string.
    pub fn parse(raw: Option<&str>) -> FleetQuery {
        let labels = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
            .filter(|(k, v)| k == "label" && !v.is_empty())
            .map(|(_, v)| v.into_owned())
            .collect();
        FleetQuery { labels }
    }
}

/// Encodes a query value (form encoding).
pub fn percent_encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn deployments(
    State(app): AppState,
    _reader: Reader,
    uri: axum::http::Uri,
) -> Result<Json<Vec<FleetRow>>, ApiError> {
    let labels = label_filter(&FleetQuery::parse(uri.query()).labels)?;
    let shared = Arc::clone(&app);
    let rows = app
        .ledger(move |l| fleet::overview(l, &labels, jiff::Timestamp::now(), &shared.gates))
        .await?;
    Ok(Json(rows))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunsQuery {
    pub environment: Option<String>,
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

async fn deployment_runs(
    State(app): AppState,
    _reader: Reader,
    Path(deployment): Path<String>,
    query: Result<Query<RunsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<RunBrief>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let name = deployment.clone();
    let first_page = q.before.is_none();
    let runs = app
        .ledger(move |l| {
            fleet::runs(
                l,
                &name,
                q.environment.as_deref(),
                q.before,
                q.limit.unwrap_or(50),
            )
        })
        .await?;
    if runs.is_empty() && first_page {
        return Err(ApiError::NotFound(format!(
            "no deployment `{deployment}` has runs on this server"
        )));
    }
    Ok(Json(runs))
}

async fn run(
    State(app): AppState,
    _reader: Reader,
    Path(id): Path<i64>,
) -> Result<Json<Run>, ApiError> {
    Ok(Json(app.ledger(move |l| l.run(id)).await?))
}

async fn run_items(
    State(app): AppState,
    _reader: Reader,
    Path(id): Path<i64>,
    uri: axum::http::Uri,
) -> Result<Json<Vec<ItemResult>>, ApiError> {
    let mut wanted = Vec::new();
    for (key, value) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        if key != "status" {
            return Err(ApiError::BadRequest(format!(
                "unknown query parameter `{key}` (status=S filters)"
            )));
        }
        wanted.push(parse_status(&value)?);
    }
    let run = app.ledger(move |l| l.run(id)).await?;
    Ok(Json(
        run.results
            .into_iter()
            .filter(|r| wanted.is_empty() || wanted.contains(&r.status))
            .collect(),
    ))
}

/// A status as the API writes it (`fail`, `not_applicable`, ...).
fn parse_status(given: &str) -> Result<Status, ApiError> {
    Status::ALL
        .into_iter()
        .find(|s| s.as_str() == given)
        .ok_or_else(|| {
            let known: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::BadRequest(format!(
                "unknown status `{given}`; the statuses are {}",
                known.join(", ")
            ))
        })
}

async fn run_item(
    State(app): AppState,
    _reader: Reader,
    Path((id, item)): Path<(i64, String)>,
) -> Result<Json<ItemResult>, ApiError> {
    let run = app.ledger(move |l| l.run(id)).await?;
    let found = shipcheck_engine::attest::find_in_run(&run, &item, &format!("run {id}"))
        .map_err(ApiError::NotFound)?;
    Ok(Json(found.clone()))
}

async fn evidence(
    State(app): AppState,
    _reader: Reader,
    Path(sha256): Path<String>,
    uri: axum::http::Uri,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    if sha256.len() != 64
        || !sha256
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(ApiError::BadRequest(
            "an evidence file is named by its SHA-256: 64 lowercase hex digits".into(),
        ));
    }
    let name = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "name")
        .map(|(_, v)| download_name(&v))
        .unwrap_or_else(|| format!("evidence-{}", &sha256[..12]));
    let digest = sha256.clone();
    let data = app
        .ledger(move |l| l.blob(&digest))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no evidence file {sha256} on this server")))?;
    let disposition = format!("attachment; filename=\"{name}\"");
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/octet-stream".to_string(),
            ),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        data,
    )
        .into_response())
}

/// A file name safe in a Content-Disposition header: letters, digits, `.`, `-` and `_`.
fn download_name(given: &str) -> String {
    let name: String = given
        .chars()
        .take(100)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.trim_matches('.').is_empty() {
        "evidence".into()
    } else {
        name
    }
}

async fn push_run(
    State(app): AppState,
    caller: Caller,
    given: Result<Json<Run>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Pushed>), ApiError> {
    if !caller.role.can_push() {
        return Err(ApiError::Forbidden(format!(
            "token `{}` has role {}, which may not push runs (pusher or admin may)",
            caller.name, caller.role
        )));
    }
    let mut run = body(given)?;
    check_pushed(&run)?;
    run.recorded_by = caller.name.clone();
    let (id, run) = app
        .ledger(move |l| {
            // What is due, the verdict, counts and score are the server's own reading of
            // the results and its deploys, never what the client says they are.
            let deployed_at = l
                .latest_deploy(&run.deployment, &run.environment)?
                .and_then(|(_, d)| d.deployed_at.parse().ok());
            shipcheck_engine::finalize::apply_due(&mut run, deployed_at, jiff::Timestamp::now());
            run.gate = shipcheck_core::gate::decide(&mut run.results, run.gate.policy);
            run.counts = shipcheck_core::outcome::Counts::of(&run.results);
            run.score = shipcheck_core::gate::score(&run.results);
            Ok((l.record_run(&run)?, run))
        })
        .await?;
    app.events.recorded(&run, "pushed");
    let (deployment, environment, go) = (run.deployment, run.environment, run.gate.go);
    Ok((
        StatusCode::CREATED,
        Json(Pushed {
            id,
            url: format!("/runs/{id}"),
            deployment,
            environment,
            go,
        }),
    ))
}

/// What a pushed run must be: this schema, a valid deployment name and environment, valid
/// labels.
fn check_pushed(run: &Run) -> Result<(), ApiError> {
    let bad = |m: String| Err(ApiError::Unprocessable(m));
    if run.schema != RUN_SCHEMA {
        return bad(format!(
            "schema is `{}`; this server records `{RUN_SCHEMA}`",
            run.schema
        ));
    }
    if run.deployment.is_empty() {
        return bad("the run names no deployment: set `deployment:` in the profile (shipcheck 0.1 runs record it)".into());
    }
    if let Err(e) = DeploymentId::parse(&run.deployment) {
        return bad(format!("deployment: {e}"));
    }
    if run.environment.is_empty() || run.environment.len() > 64 {
        return bad("environment must be 1 to 64 characters".into());
    }
    match check_labels(&run.labels) {
        Ok(()) => Ok(()),
        Err((k, e)) => bad(format!("label `{k}`: {e}")),
    }
}

/// `?environment=E`, required.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvQuery {
    pub environment: String,
}

/// `?environment=E[&phase=P]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateQuery {
    pub environment: String,
    pub phase: Option<shipcheck_core::pack::Phase>,
}

async fn gate(
    State(app): AppState,
    _reader: Reader,
    Path(deployment): Path<String>,
    query: Result<Query<GateQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<GateView>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let view = app
        .ledger_api(move |l| match q.phase {
            Some(phase) => crate::statements::gate_for_phase(l, &deployment, &q.environment, phase),
            None => Ok(crate::statements::gate(l, &deployment, &q.environment)?),
        })
        .await?;
    Ok(Json(view))
}

/// Declares a JSON handler per statement kind that lists it for a deployment and
/// environment (one indexed query).
macro_rules! list_endpoints {
    ($($name:ident: $kind:ident => $ty:ty;)*) => {$(
        async fn $name(
            State(app): AppState,
            _reader: Reader,
            Path(deployment): Path<String>,
            query: Result<Query<EnvQuery>, axum::extract::rejection::QueryRejection>,
        ) -> Result<Json<Vec<Listed<$ty>>>, ApiError> {
            let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
            let listed = app
                .ledger(move |l| l.scoped::<$ty>(Kind::$kind, &deployment, &q.environment))
                .await?;
            Ok(Json(
                listed
                    .into_iter()
                    .map(|(seq, statement)| Listed { seq, statement })
                    .collect(),
            ))
        }
    )*};
}

list_endpoints! {
    list_attestations: Attestation => Attestation;
    list_signoffs: Signoff => Signoff;
    list_waivers: Waiver => Waiver;
    list_deploys: Deploy => Deploy;
    list_alerts: Alert => Alert;
}

/// A JSON body, or the extractor's refusal as a typed error.
fn body<T>(given: Result<Json<T>, axum::extract::rejection::JsonRejection>) -> Result<T, ApiError> {
    given
        .map(|Json(t)| t)
        .map_err(|e| ApiError::Rejected(e.status(), e.body_text()))
}

/// Declares a JSON handler per statement kind: its body and its write (201 with what was
/// recorded).
macro_rules! write_endpoints {
    ($($name:ident: $body:ty => $write:path;)*) => {$(
        async fn $name(
            State(app): AppState,
            caller: Caller,
            Path(deployment): Path<String>,
            given: Result<Json<$body>, axum::extract::rejection::JsonRejection>,
        ) -> Result<(StatusCode, Json<Recorded>), ApiError> {
            let fields = body(given)?;
            let r = app
                .ledger_api(move |l| $write(l, &caller, &deployment, fields))
                .await?;
            Ok((StatusCode::CREATED, Json(r)))
        }
    )*};
}

write_endpoints! {
    post_attestation: NewAttestation => crate::statements::attest;
    post_signoff: NewSignoff => crate::statements::signoff;
    post_waiver: NewWaiver => crate::statements::waive;
}

async fn signoff_message(
    State(app): AppState,
    caller: Caller,
    Path(deployment): Path<String>,
    query: Result<Query<crate::statements::MessageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<crate::statements::SignoffMessage>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let m = app
        .ledger_api(move |l| crate::statements::signoff_message(l, &caller, &deployment, q))
        .await?;
    Ok(Json(m))
}

async fn deliveries(
    State(app): AppState,
    _reader: Reader,
    Path(id): Path<i64>,
) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    let rows = app.ledger(move |l| l.deliveries_of(id)).await?;
    Ok(Json(rows.into_iter().map(DeliveryView::of).collect()))
}

async fn jobs(
    State(app): AppState,
    _reader: Reader,
    Path(deployment): Path<String>,
) -> Result<Json<Vec<JobView>>, ApiError> {
    let rows = app.ledger(move |l| l.jobs_of(&deployment)).await?;
    Ok(Json(rows.into_iter().map(JobView::of).collect()))
}

async fn post_deploy(
    State(app): AppState,
    caller: Caller,
    Path(deployment): Path<String>,
    given: Result<Json<NewDeploy>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Recorded>), ApiError> {
    let fields = body(given)?;
    let now = app.clock.now();
    let r = app
        .ledger_api(move |l| crate::statements::deploy(l, &caller, &deployment, fields, now))
        .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

async fn openapi(State(_app): AppState) -> Json<serde_json::Value> {
    Json(crate::openapi::document(operations))
}

/// `/healthz`: the process answers.
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// `/metrics`: the fleet's gauges and the server's events (OpenMetrics text).
pub async fn metrics(
    State(app): AppState,
    _reader: Reader,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let shared = Arc::clone(&app);
    let rows = app
        .ledger(move |l| fleet::overview(l, &[], jiff::Timestamp::now(), &shared.gates))
        .await?;
    let text = crate::metrics::render(&rows, &app.events);
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            crate::metrics::CONTENT_TYPE,
        )],
        text,
    )
        .into_response())
}

/// `/readyz`: the ledger answers a query.
pub async fn readyz(State(app): AppState) -> (StatusCode, Json<Health>) {
    match app.ledger(|l| l.tokens().map(|_| ())).await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "ok".into(),
            }),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "unavailable".into(),
            }),
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_openapi_document_resolves_every_reference() {
        let doc = crate::openapi::document(super::operations);
        let text = doc.to_string();
        for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = &part[..part.find('"').unwrap()];
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "{name} is referenced but not defined"
            );
        }
        assert!(doc["paths"]["/api/v1/runs"]["post"]["requestBody"].is_object());
        assert_eq!(
            doc["paths"]["/api/v1/openapi.json"]["get"]["security"],
            serde_json::json!([])
        );
    }
}
