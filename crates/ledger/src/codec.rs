//! How a record's body is stored: as text when small, else deflated (zlib) in `body_z`
//! (migration 5) with an empty `body`. A run of 86 items is about 86 KB of JSON and 7 KB
//! deflated. The hash chain is over the JSON text, so the storage form is invisible to
//! `verify`, old records (text) are read as they are, and a body stored either way hashes
//! the same.

use miniz_oxide::inflate::TINFLStatus;

/// The migration that adds `body_z`.
pub const CODEC_MIGRATION: i64 = 5;

pub const CODEC_SQLITE: &str = "ALTER TABLE records ADD COLUMN body_z BLOB;";
pub const CODEC_POSTGRES: &str = "ALTER TABLE records ADD COLUMN body_z BYTEA;";

/// Bodies up to this many bytes are stored as text (statements, tokens, deploys): they
/// stay readable with plain SQL, and deflating them would save little.
const STORE_AS_TEXT: usize = 2048;

/// The largest body inflated: a run of 100,000 items is about 100 MB of JSON.
const MAX_BODY: usize = 256 << 20;

/// The (body, body_z) columns to store for `body`.
pub fn encode(body: &str) -> (&str, Option<Vec<u8>>) {
    if body.len() <= STORE_AS_TEXT {
        return (body, None);
    }
    (
        "",
        Some(miniz_oxide::deflate::compress_to_vec_zlib(
            body.as_bytes(),
            6,
        )),
    )
}

/// The body from its stored columns. A `body_z` that does not inflate to UTF-8 text (it was
/// edited) reads as a text that cannot match the record's hash or parse as JSON, so
/// `verify` reports the record as edited and a read of it fails on that record.
pub fn decode(body: String, body_z: Option<Vec<u8>>) -> String {
    let Some(z) = body_z else {
        return body;
    };
    match miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&z, MAX_BODY) {
        Ok(bytes) => String::from_utf8(bytes)
            .unwrap_or_else(|_| "<stored body is not UTF-8 text>".to_string()),
        Err(e) if e.status == TINFLStatus::HasMoreOutput => {
            format!("<stored body inflates beyond {} MiB>", MAX_BODY >> 20)
        }
        Err(_) => "<stored body does not inflate>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_bodies_stay_text_and_large_ones_round_trip() {
        assert_eq!(encode("{\"a\":1}"), ("{\"a\":1}", None));
        let big = format!(
            "{{\"items\":[{}]}}",
            "{\"id\":\"x\",\"status\":\"pass\"},".repeat(500)
        );
        let (text, z) = encode(&big);
        assert_eq!(text, "");
        let z = z.unwrap();
        assert!(z.len() * 10 < big.len(), "{} → {}", big.len(), z.len());
        assert_eq!(decode(String::new(), Some(z.clone())), big);
        // Edited bytes do not read as the body.
        let mut bad = z;
        let mid = bad.len() / 2;
        bad[mid] ^= 0xff;
        assert_ne!(decode(String::new(), Some(bad)), big);
        assert!(decode(String::new(), Some(b"junk".to_vec())).starts_with("<stored body"));
    }
}
