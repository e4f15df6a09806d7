//! How a record's body is stored. The hash chain is over the JSON text, so the storage form
//! is invisible to `verify`: a body stored any of these ways hashes the same, and old
//! records are read as they were written.
//!
//! - **Text** (`body`): statements, tokens, deploys, anything up to 2 KB. Readable with
//!   plain SQL.
//! - **Deflated** (`body_z`, migration 5, empty `body`): a larger body with no base, e.g. a
//!   run of no deployment or one over 4 MB.
//! - **Delta** (`body_z` + `body_base`, migration 6): a run stored as zstd with a *base* as
//!   its dictionary. The base is an earlier run of the same deployment and environment,
//!   kept once as a zstd blob (`blobs`, by its SHA-256) and shared by up to [`BASE_USES`]
//!   runs. A run of 86 items is 85 KB of JSON, 16.8 KB deflated, and about 100 bytes as a
//!   delta when nothing changed. A read needs only the record and its base: no chain of deltas.

use std::collections::HashMap;

use miniz_oxide::inflate::TINFLStatus;

use crate::{LedgerError, Record};

/// The migration that adds `body_z`.
pub const CODEC_MIGRATION: i64 = 5;

pub const CODEC_SQLITE: &str = "ALTER TABLE records ADD COLUMN body_z BLOB;";
pub const CODEC_POSTGRES: &str = "ALTER TABLE records ADD COLUMN body_z BYTEA;";

/// The migration that adds `body_base` (both databases take the statement).
pub const DELTA_MIGRATION: i64 = 6;
pub const DELTA_SQL: &str = "ALTER TABLE records ADD COLUMN body_base TEXT;";

/// Bodies up to this many bytes are stored as text (statements, tokens, deploys): they
/// stay readable with plain SQL, and deflating them would save little.
const STORE_AS_TEXT: usize = 2048;

/// The largest body inflated: a run of 100,000 items is about 100 MB of JSON.
const MAX_BODY: usize = 256 << 20;

/// Runs up to this size are stored as deltas: compressing with a dictionary is about 10 ns
/// a byte, and a base this size stays cheap to keep and to read.
const MAX_DELTA_BODY: usize = 4 << 20;

/// How many runs of a deployment share one base before the next run starts a new one: a
/// base is about 16 KB for 86 items, so it costs each run a few hundred bytes.
pub const BASE_USES: i64 = 64;

/// zstd levels: a base is written once per [`BASE_USES`] runs (the highest level pays while
/// it stays fast); a delta at every run.
const BASE_LEVEL_SMALL: i32 = 19;
const BASE_LEVEL: i32 = 9;
const DELTA_LEVEL: i32 = 9;

/// The bases of the latest runs of a deployment in one environment, newest first (`#N`
/// placeholders, see [`crate::query::placeholders`]), with its parameters from
/// [`recent_bases_params`]. Each environment keeps its own base: runs of two environments
/// that differ a lot, recorded in turn, would otherwise start a new base at every run.
pub const RECENT_BASES_SQL: &str = "SELECT body_base FROM records WHERE deployment = #1 AND kind = 'run' AND coalesce(environment, '') = #2 ORDER BY seq DESC LIMIT #3";

pub fn recent_bases_params(scope: &crate::scope::Scope, limit: i64) -> Vec<crate::query::Param> {
    vec![
        crate::query::Param::Text(scope.deployment.clone()),
        crate::query::Param::Text(scope.environment.clone().unwrap_or_default()),
        crate::query::Param::Int(limit),
    ]
}

/// A body as its columns hold it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stored {
    /// `body`: the JSON text, or empty.
    pub text: String,
    /// `body_z`: deflated (no base) or a zstd delta (with a base).
    pub z: Option<Vec<u8>>,
    /// `body_base`: the SHA-256 of the base blob a delta needs.
    pub base: Option<String>,
}

/// A body to append: its JSON text (what the chain hashes) and how it is stored.
pub struct Encoded<'a> {
    pub json: &'a str,
    pub stored: Stored,
}

/// Reads a blob by its SHA-256 (the store's `get_blob`).
pub type BlobReader<'a> = &'a mut dyn FnMut(&str) -> Result<Option<Vec<u8>>, LedgerError>;

/// A record read with its body still a delta: [`resolve`] completes it.
#[derive(Debug)]
pub struct Delta {
    pub base: String,
    pub z: Vec<u8>,
}

/// The stored form of `body` without a base: text when small, else deflated (zlib).
pub fn encode(body: &str) -> Stored {
    if body.len() <= STORE_AS_TEXT {
        return Stored {
            text: body.to_string(),
            ..Stored::default()
        };
    }
    Stored {
        text: String::new(),
        z: Some(miniz_oxide::deflate::compress_to_vec_zlib(
            body.as_bytes(),
            6,
        )),
        base: None,
    }
}

/// Whether `body` is stored as a delta when it has a deployment.
pub fn wants_base(body: &str) -> bool {
    (STORE_AS_TEXT + 1..=MAX_DELTA_BODY).contains(&body.len())
}

/// The blob that makes `body` a base: the body compressed on its own.
pub fn base_blob(body: &str) -> Option<Vec<u8>> {
    let level = if body.len() <= 256 << 10 {
        BASE_LEVEL_SMALL
    } else {
        BASE_LEVEL
    };
    zstd::bulk::compress(body.as_bytes(), level).ok()
}

/// The base's text from its blob.
pub fn base_text(blob: &[u8]) -> Result<Vec<u8>, String> {
    decompress(blob, None)
}

/// `body` as a delta against `base` (the text of the blob `digest`, `blob_len` bytes), if
/// that pays: a delta over half the base's size means the run changed too much, and the
/// caller starts a new base. The delta is read back before it is used.
pub fn delta(body: &str, digest: &str, base: &[u8], blob_len: usize) -> Option<Stored> {
    let mut compressor = zstd::bulk::Compressor::with_dictionary(DELTA_LEVEL, base).ok()?;
    let z = compressor.compress(body.as_bytes()).ok()?;
    if z.len() > blob_len / 2 + 64 || decompress(&z, Some(base)).ok()? != body.as_bytes() {
        return None;
    }
    Some(Stored {
        text: String::new(),
        z: Some(z),
        base: Some(digest.to_string()),
    })
}

/// Decompresses one zstd frame (with `dictionary`). Bases and deltas are only made of
/// bodies up to [`MAX_DELTA_BODY`]: a frame that says it holds more was not written here,
/// and is refused before anything is allocated for it.
fn decompress(z: &[u8], dictionary: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let size = match zstd::zstd_safe::get_frame_content_size(z) {
        Ok(Some(n)) if n <= MAX_DELTA_BODY as u64 => n as usize,
        Ok(Some(n)) => {
            return Err(format!(
                "it says it holds {n} bytes, more than the {} MiB a stored run may",
                MAX_DELTA_BODY >> 20
            ));
        }
        _ => return Err("it is not a zstd frame of known size".into()),
    };
    let mut d = zstd::bulk::Decompressor::with_dictionary(dictionary.unwrap_or(&[]))
        .map_err(|e| e.to_string())?;
    d.decompress(z, size).map_err(|e| e.to_string())
}

/// What the columns (body, body_z, body_base) hold: the body, or a delta still to apply.
pub fn decode(
    body: String,
    body_z: Option<Vec<u8>>,
    base: Option<String>,
) -> (String, Option<Delta>) {
    let Some(z) = body_z else {
        return (body, None);
    };
    if let Some(base) = base {
        return (String::new(), Some(Delta { base, z }));
    }
    (inflate(&z), None)
}

/// A deflated body. One that does not inflate to UTF-8 text (it was edited) reads as a text
/// that cannot match the record's hash or parse as JSON, so `verify` reports the record as
/// edited and a read of it fails on that record.
fn inflate(z: &[u8]) -> String {
    match miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(z, MAX_BODY) {
        Ok(bytes) => String::from_utf8(bytes)
            .unwrap_or_else(|_| "<stored body is not UTF-8 text>".to_string()),
        Err(e) if e.status == TINFLStatus::HasMoreOutput => {
            format!("<stored body inflates beyond {} MiB>", MAX_BODY >> 20)
        }
        Err(_) => "<stored body does not inflate>".to_string(),
    }
}

/// Why a body read back is not the stored record's text, when its stored form could not be
/// read (a missing or replaced base, bytes that do not decompress): the placeholder's
/// words, without the angle brackets. A JSON body never starts with `<`.
pub fn unreadable(body: &str) -> Option<&str> {
    body.starts_with("<stored body")
        .then(|| body.trim_start_matches('<').trim_end_matches('>'))
}

/// Bases kept while one read resolves its records: enough for a page of runs of many
/// deployments, bounded in bytes.
const CACHED_BASE_BYTES: usize = 64 << 20;

/// The records of `rows` with every delta applied, reading each base blob once through
/// `blob`. A base that is missing or damaged makes only its records' bodies unreadable (a
/// text that cannot match their hashes), as an edited body would.
pub fn resolve(
    rows: Vec<(Record, Option<Delta>)>,
    blob: BlobReader<'_>,
) -> Result<Vec<Record>, LedgerError> {
    let mut bases: HashMap<String, Result<Vec<u8>, String>> = HashMap::new();
    let mut cached = 0;
    let mut out = Vec::with_capacity(rows.len());
    for (mut record, delta) in rows {
        if let Some(Delta { base, z }) = delta {
            if !bases.contains_key(&base) {
                if cached > CACHED_BASE_BYTES {
                    bases.clear();
                    cached = 0;
                }
                let text = match blob(&base)? {
                    None => Err(format!("<stored body's base {base} is missing>")),
                    Some(b) if crate::chain::digest(&b) != base => {
                        Err(format!("<stored body's base {base} was replaced>"))
                    }
                    Some(b) => base_text(&b).map_err(|e| format!("<stored body's base: {e}>")),
                };
                cached += text.as_ref().map_or(0, Vec::len);
                bases.insert(base.clone(), text);
            }
            record.body = match &bases[&base] {
                Err(why) => why.clone(),
                Ok(text) => match decompress(&z, Some(text)) {
                    Ok(bytes) => String::from_utf8(bytes)
                        .unwrap_or_else(|_| "<stored body is not UTF-8 text>".to_string()),
                    Err(e) => format!("<stored body does not decompress: {e}>"),
                },
            };
        }
        out.push(record);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run-like body: items with varied content, `tag` in its header.
    fn big(n: usize, tag: &str) -> String {
        let items: Vec<String> = (0..n)
            .map(|i| {
                let seen = (i as u64).wrapping_mul(2_654_435_761) % 1_000_003;
                format!("{{\"id\":\"item-{i}\",\"status\":\"pass\",\"seen\":\"{seen:x}\"}}")
            })
            .collect();
        format!("{{\"started\":\"{tag}\",\"items\":[{}]}}", items.join(","))
    }

    fn record(seq: i64) -> Record {
        Record {
            seq,
            kind: "run".into(),
            created_at: "t".into(),
            body: String::new(),
            prev_hash: String::new(),
            hash: String::new(),
            deployment: None,
            environment: None,
        }
    }

    /// Stored bytes are outside input (anyone with the database file can write them): none
    /// of these may panic or allocate more than a stored run can hold.
    #[test]
    fn hostile_frames_are_refused() {
        let base = big(300, "1");
        let good = zstd::bulk::compress(base.as_bytes(), 3).unwrap();
        // A bomb: a few hundred bytes that hold 64 MiB of zeros.
        let bomb = zstd::bulk::compress(&vec![0u8; 64 << 20], 3).unwrap();
        assert!(bomb.len() < 64 << 10);
        let refused = decompress(&bomb, None).unwrap_err();
        assert!(
            refused.contains("says it holds 67108864 bytes"),
            "{refused}"
        );
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("junk", b"not zstd at all".to_vec()),
            ("truncated", good[..good.len() / 2].to_vec()),
            ("bomb", bomb),
            ("flipped", {
                let mut f = good.clone();
                let mid = f.len() / 2;
                f[mid] ^= 0xa5;
                f
            }),
        ];
        for (name, z) in cases {
            let out = decompress(&z, Some(base.as_bytes()));
            assert_ne!(
                out.ok().as_deref(),
                Some(base.as_bytes()),
                "{name}: read as the body"
            );
            let _ = base_text(&z);
        }
        assert_eq!(decompress(&good, None).unwrap(), base.as_bytes());
    }

    #[test]
    fn the_latest_migration_is_the_last_one() {
        assert_eq!(
            crate::MIGRATIONS.last().map(|m| m.0),
            Some(crate::LATEST_MIGRATION)
        );
    }

    #[test]
    fn small_bodies_stay_text_and_large_ones_round_trip() {
        assert_eq!(encode("{\"a\":1}").text, "{\"a\":1}");
        assert_eq!(encode("{\"a\":1}").z, None);
        let big = big(500, "1");
        let stored = encode(&big);
        assert_eq!(stored.text, "");
        let z = stored.z.unwrap();
        assert!(z.len() * 5 < big.len(), "{} → {}", big.len(), z.len());
        assert_eq!(decode(String::new(), Some(z.clone()), None).0, big);
        // Edited bytes do not read as the body.
        let mut bad = z;
        let mid = bad.len() / 2;
        bad[mid] ^= 0xff;
        assert_ne!(decode(String::new(), Some(bad), None).0, big);
        assert!(
            decode(String::new(), Some(b"junk".to_vec()), None)
                .0
                .starts_with("<stored body")
        );
    }

    #[test]
    fn a_run_like_its_base_is_a_small_delta_and_reads_back() {
        let first = big(2000, "1");
        let blob = base_blob(&first).unwrap();
        let digest = crate::chain::digest(&blob);
        let base = base_text(&blob).unwrap();
        assert_eq!(base, first.as_bytes());
        let second =
            big(2000, "2").replace("item-7\",\"status\":\"pass", "item-7\",\"status\":\"fail");
        let stored = delta(&second, &digest, &base, blob.len()).unwrap();
        let z = stored.z.clone().unwrap();
        assert!(z.len() < 2000, "{} bytes", z.len());
        assert!(
            z.len() * 4 < blob.len(),
            "{} vs base {}",
            z.len(),
            blob.len()
        );
        let (body, pending) = decode(String::new(), stored.z, stored.base);
        assert_eq!(body, "");
        let mut reads = 0;
        let out = resolve(
            vec![(record(1), pending), (record(2), None)],
            &mut |d: &str| {
                reads += 1;
                Ok((d == digest).then(|| blob.clone()))
            },
        )
        .unwrap();
        assert_eq!(out[0].body, second);
        assert_eq!(reads, 1);
    }

    #[test]
    fn a_run_unlike_its_base_is_not_a_delta() {
        let first = big(2000, "1");
        let blob = base_blob(&first).unwrap();
        let other: String = (0..4000)
            .map(|i| format!("{:x}", (i * 2_654_435_761_u64) % 65_521))
            .collect();
        assert!(delta(&other, "d", &base_text(&blob).unwrap(), blob.len()).is_none());
        assert!(wants_base(&first) && !wants_base("{}"));
    }

    #[test]
    fn a_missing_or_replaced_base_makes_only_its_records_unreadable() {
        let first = big(500, "1");
        let blob = base_blob(&first).unwrap();
        let digest = crate::chain::digest(&blob);
        let stored = delta(&first, &digest, first.as_bytes(), blob.len()).unwrap();
        let rows = || {
            vec![
                (
                    record(1),
                    Some(Delta {
                        base: digest.clone(),
                        z: stored.z.clone().unwrap(),
                    }),
                ),
                (
                    Record {
                        body: "{}".into(),
                        ..record(2)
                    },
                    None,
                ),
            ]
        };
        let out = resolve(rows(), &mut |_: &str| Ok(None)).unwrap();
        assert!(out[0].body.contains("is missing"), "{}", out[0].body);
        assert_eq!(
            unreadable(&out[0].body),
            Some(format!("stored body's base {digest} is missing").as_str())
        );
        assert_eq!(unreadable(&first), None);
        assert_eq!(out[1].body, "{}");
        let out = resolve(rows(), &mut |_: &str| {
            Ok(Some(base_blob("{\"other\":1}").unwrap()))
        })
        .unwrap();
        assert!(out[0].body.contains("was replaced"), "{}", out[0].body);
        let mut bad = stored.z.clone().unwrap();
        let last = bad.len() - 5;
        bad[last] ^= 0x55;
        let out = resolve(
            vec![(
                record(1),
                Some(Delta {
                    base: digest.clone(),
                    z: bad,
                }),
            )],
            &mut |_: &str| Ok(Some(blob.clone())),
        )
        .unwrap();
        assert_ne!(out[0].body, first);
    }

    /// A ledger's runs of one deployment share a base for [`BASE_USES`] runs, then start
    /// another; a run unlike its base starts one at once; other deployments have their own.
    #[test]
    fn bases_rotate_after_their_uses_and_when_a_run_changes() {
        let dir = std::env::temp_dir().join(format!("shipcheck-codec-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut ledger =
            crate::Ledger::open_with_key(crate::Location::Sqlite(dir.join("l.db")), None).unwrap();
        let scope = |d: &str| {
            Some(crate::scope::Scope {
                deployment: d.into(),
                environment: Some("production".into()),
            })
        };
        // Runs that differ in their header only (a base of the same text would be the same
        // blob, so identical runs keep sharing one).
        let body_of = |i: i64| big(300, &format!("run {i}"));
        let bodies: Vec<String> = (0..=BASE_USES).map(body_of).collect();
        for body in &bodies {
            ledger.append(crate::Kind::Run, body, scope("a")).unwrap();
        }
        let other = big(300, "b").replace("item-", "other-");
        ledger.append(crate::Kind::Run, &other, scope("b")).unwrap();
        let changed: String = (0..3000)
            .map(|i| format!("{:x}", (i * 2_654_435_761_u64) % 65_521))
            .collect();
        ledger
            .append(crate::Kind::Run, &changed, scope("a"))
            .unwrap();
        let bases_of = |ledger: &mut crate::Ledger, scope: Option<crate::scope::Scope>| {
            ledger.backend.recent_bases(&scope.unwrap(), 1000).unwrap()
        };
        let bases = bases_of(&mut ledger, scope("a"));
        assert_eq!(bases.len() as i64, BASE_USES + 2);
        let distinct: std::collections::BTreeSet<_> = bases.iter().flatten().collect();
        assert_eq!(distinct.len(), 3, "{bases:?}");
        assert!(
            bases[2..].iter().all(|b| *b == bases[2]),
            "the first {BASE_USES} share one"
        );
        assert_ne!(bases[1], bases[2], "the next run starts another");
        assert_ne!(bases[0], bases[1], "a changed run starts its own base");
        let b = bases_of(&mut ledger, scope("b"));
        assert!(
            !distinct.contains(b[0].as_ref().unwrap()),
            "b has its own base"
        );
        let records = ledger.records().unwrap();
        assert_eq!(records.len() as i64, BASE_USES + 3);
        assert!(records.iter().zip(&bodies).all(|(r, b)| r.body == *b));
        assert_eq!(records[BASE_USES as usize + 1].body, other);
        assert_eq!(records[BASE_USES as usize + 2].body, changed);
        // Two environments of one deployment whose runs differ too much to share a base,
        // recorded in turn: each keeps its own, so six runs make two bases, not six.
        let env = |e: &str| {
            Some(crate::scope::Scope {
                deployment: "c".into(),
                environment: Some(e.into()),
            })
        };
        for i in 0..3 {
            // Each prod run a little different, so that a new base would be a new blob.
            let prod = body_of(1000 + i);
            ledger.append(crate::Kind::Run, &prod, env("prod")).unwrap();
            ledger
                .append(crate::Kind::Run, &changed, env("staging"))
                .unwrap();
        }
        let prod = bases_of(&mut ledger, env("prod"));
        let staging = bases_of(&mut ledger, env("staging"));
        assert_eq!(prod.len(), 3);
        assert!(prod.iter().all(|b| *b == prod[0]) && staging.iter().all(|b| *b == staging[0]));
        assert_ne!(prod[0], staging[0]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
