//! Renderers of a [`crate::outcome::Run`]. All of them read the one result model.

pub mod human;
pub mod json;

/// Output formats of `shipcheck check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}
