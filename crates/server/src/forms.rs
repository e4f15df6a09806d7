//! The dashboard's forms that write: attest (a multipart form, whose evidence may be a
//! file), sign off and waive. Each checks the session's CSRF token, writes through the
//! same functions as the API, and sends the browser back to the deployment's page.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::caller::Caller;
use crate::error::ApiError;
use crate::pages::PageError;
use crate::state::App;
use crate::statements::{NewAttestation, Upload};

type AppState = State<Arc<App>>;

/// Where a write form sends the browser: the deployment's page in its environment.
fn back_to(deployment: &str, environment: &str) -> Redirect {
    Redirect::to(&format!(
        "/deployments/{}?environment={}",
        crate::api::percent_encode(deployment),
        crate::api::percent_encode(environment)
    ))
}

/// A form that writes: its CSRF token and the environment it is for.
#[derive(Deserialize)]
pub struct WriteForm<T> {
    csrf: Option<String>,
    #[serde(flatten)]
    fields: T,
}

/// Checks a posted form's CSRF token, runs the write, and sends the browser back to the
/// deployment's page.
async fn write_form<T: Send + 'static>(
    app: &App,
    caller: Result<Caller, ApiError>,
    deployment: String,
    form: Result<Form<WriteForm<T>>, axum::extract::rejection::FormRejection>,
    environment: fn(&T) -> String,
    write: fn(
        &mut shipcheck_ledger::Ledger,
        &Caller,
        &str,
        T,
    ) -> Result<crate::statements::Recorded, ApiError>,
) -> Result<Response, PageError> {
    let caller = caller?;
    let Form(form) = form.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    caller.check_csrf(form.csrf.as_deref())?;
    let back = back_to(&deployment, &environment(&form.fields));
    let fields = form.fields;
    app.ledger_api(move |l| write(l, &caller, &deployment, fields))
        .await?;
    Ok(back.into_response())
}

/// Declares a form handler per statement kind: its form fields and its write.
macro_rules! write_forms {
    ($($(#[$doc:meta])* $name:ident: $fields:ty => $write:path;)*) => {$(
        $(#[$doc])*
        pub async fn $name(
            State(app): AppState,
            caller: Result<Caller, ApiError>,
            Path(deployment): Path<String>,
            form: Result<Form<WriteForm<$fields>>, axum::extract::rejection::FormRejection>,
        ) -> Result<Response, PageError> {
            write_form(&app, caller, deployment, form, |f| f.environment.clone(), $write).await
        }
    )*};
}

write_forms! {
    /// `POST /deployments/{name}/signoff`.
    signoff_form: crate::statements::NewSignoff => crate::statements::signoff;
    /// `POST /deployments/{name}/waive`.
    waive_form: crate::statements::NewWaiver => crate::statements::waive;
}

/// `POST /deployments/{name}/attest`: a multipart form. Its text fields are those of
/// [`NewAttestation`]; `evidence_file`, when a file was chosen, is stored with it.
pub async fn attest_form(
    State(app): AppState,
    caller: Result<Caller, ApiError>,
    Path(deployment): Path<String>,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, PageError> {
    let caller = caller?;
    let mut form = form.map_err(|e| ApiError::Rejected(e.status(), e.body_text()))?;
    let refused =
        |e: axum::extract::multipart::MultipartError| ApiError::Rejected(e.status(), e.body_text());
    let mut fields = serde_json::Map::new();
    let mut upload = None;
    while let Some(field) = form.next_field().await.map_err(refused)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "evidence_file" {
            // A browser sends the part with an empty name and no content when no file
            // was chosen; some send the whole client-side path as the name.
            let given = field.file_name().unwrap_or_default().to_string();
            let data = field.bytes().await.map_err(refused)?;
            if !(given.is_empty() && data.is_empty()) {
                let base = given.rsplit(['/', '\\']).next().unwrap_or_default();
                upload = Some(Upload::new(base, data.to_vec())?);
            }
            continue;
        }
        let text = field.text().await.map_err(refused)?;
        if fields.insert(name.clone(), text.into()).is_some() {
            return Err(ApiError::BadRequest(format!("the form has `{name}` twice")).into());
        }
    }
    let csrf = fields.remove("csrf");
    caller.check_csrf(csrf.as_ref().and_then(|v| v.as_str()))?;
    let a: NewAttestation = serde_json::from_value(serde_json::Value::Object(fields))
        .map_err(|e| ApiError::Unprocessable(format!("the attest form: {e}")))?;
    let back = back_to(&deployment, &a.environment);
    app.ledger_api(move |l| crate::statements::attest_with(l, &caller, &deployment, a, upload))
        .await?;
    Ok(back.into_response())
}
