//! `shipcheck schema`: the JSON Schemas of the formats.

use super::*;

#[derive(clap::Args)]
pub struct SchemaArgs {
    #[arg(value_enum)]
    pub kind: SchemaKind,
}

pub fn schema(args: SchemaArgs) -> Result<i32, Error> {
    let SchemaArgs { kind } = args;
    let schema = match kind {
        SchemaKind::Pack => shipcheck_core::schema::pack_schema(),
        SchemaKind::Profile => shipcheck_core::schema::profile_schema(),
    };
    outln!(
        "{}",
        serde_json::to_string_pretty(&schema).unwrap_or_default()
    );
    Ok(0)
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SchemaKind {
    Pack,
    Profile,
}
