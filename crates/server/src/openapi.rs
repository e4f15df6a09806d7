//! The OpenAPI 3.1 document of `/api/v1`, built from the routes' declarations
//! (the `api_routes!` declarations) and the JSON Schemas of their request and response types
//! (schemars), so it cannot drift from the handlers.

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

/// One operation.
pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    /// The least role that may call it (`none`: no token).
    pub auth: &'static str,
    pub request: Option<Schema>,
    pub response: Schema,
    /// The response's media type: JSON, but for evidence files.
    pub media: &'static str,
}

/// Declares an operation taking `Req` (`()`: no body) and answering `Resp`.
pub fn declare<Req: JsonSchema + 'static, Resp: JsonSchema + 'static>(
    generator: &mut SchemaGenerator,
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    auth: &'static str,
) -> Operation {
    let request = (std::any::TypeId::of::<Req>() != std::any::TypeId::of::<()>())
        .then(|| generator.subschema_for::<Req>());
    Operation {
        method,
        path,
        summary,
        auth,
        request,
        response: generator.subschema_for::<Resp>(),
        media: if std::any::TypeId::of::<Resp>()
            == std::any::TypeId::of::<crate::model::EvidenceBytes>()
        {
            "application/octet-stream"
        } else {
            "application/json"
        },
    }
}

/// The document of `operations` (the API's declared routes).
pub fn document(operations: fn(&mut SchemaGenerator) -> Vec<Operation>) -> Value {
    let settings = schemars::generate::SchemaSettings::draft2020_12().with(|s| {
        s.definitions_path = "/components/schemas".into();
    });
    let mut generator = settings.into_generator();
    let error = generator.subschema_for::<crate::error::ErrorBody>();
    let mut paths = Map::new();
    for op in operations(&mut generator) {
        let params: Vec<Value> = op
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": if name == "id" {"integer"} else {"string"}}}))
            .collect();
        let ok = if op.method == "post" { "201" } else { "200" };
        let mut operation = json!({
            "summary": op.summary,
            "operationId": format!("{}{}", op.method, op.path.replace(['/', '{', '}', '.'], "_")),
            "parameters": params,
            "responses": {
                ok: {"description": "success", "content": {op.media: {"schema": op.response}}},
                "default": {"description": "an error", "content": {"application/json": {"schema": error}}}
            },
        });
        if op.auth == "none" {
            operation["security"] = json!([]);
        } else {
            operation["description"] =
                json!(format!("Needs a token with role {} or above.", op.auth));
        }
        if let Some(body) = op.request {
            operation["requestBody"] =
                json!({"required": true, "content": {"application/json": {"schema": body}}});
        }
        let entry = paths
            .entry(op.path.to_string())
            .or_insert_with(|| json!({}));
        entry[op.method] = operation;
    }
    let schemas: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
    json!({
        "openapi": "3.1.0",
        "info": {"title": "shipcheck", "version": env!("CARGO_PKG_VERSION"), "description": "The API of `shipcheck serve`: deployments, runs and the ledger."},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}
        },
        "security": [{"token": []}],
    })
}
