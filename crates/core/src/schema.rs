//! JSON Schemas of the pack and profile formats, generated from the same types the loader
//! deserializes into, so they cannot drift. `shipcheck schema pack` prints it; the
//! committed copy in `schema/` is checked against it by a test.

/// JSON Schema (draft 2020-12) of a pack file.
pub fn pack_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(crate::pack::Pack).to_value();
    schema["$id"] = "https://shipcheck.dev/schema/pack-v1.json".into();
    schema["title"] = "shipcheck pack".into();
    schema
}

/// JSON Schema (draft 2020-12) of a profile file.
pub fn profile_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(crate::profile::ProfileFile).to_value();
    schema["$id"] = "https://shipcheck.dev/schema/profile-v1.json".into();
    schema["title"] = "shipcheck profile".into();
    schema
}
