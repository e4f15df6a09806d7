//! `shipcheck fix` (issue #18): the mechanical fixes packs declare (`remedy:`), planned as
//! lossless edits and shown as diffs with secrets masked, applied with a backup, atomically,
//! keeping modes and owners, and undone byte for byte.
//!
//! - [`plan`]: what the remedies of failing items would change; what cannot be done
//!   losslessly is refused with the reason and the manual fix.
//! - [`json5`], [`dotenv`], [`toml`], [`ini`], [`yaml`]: the editors (JSON and JSON5 by
//!   spans, env and INI files by lines, TOML with toml_edit, YAML block mappings by lines,
//!   each YAML edit checked by parsing the result).
//! - [`apply`]: checks, backup, atomic writes, rollback, undo.
//! - [`diff`], [`secret`]: the diff shown, and new random secrets.

pub mod apply;
pub mod diff;
pub mod dotenv;
pub mod ini;
pub mod json5;
pub mod plan;
pub mod secret;
pub mod toml;
pub mod yaml;

pub use apply::{ApplyError, Manifest, apply, state_dir, undo};
pub use plan::{Key, Plan, Request, Resolved, plan};
