//! `archive` probe: the entry names of a tar archive, read in-process (`tar -tf` without the
//! `tar` and `gzip` processes). Compression is told by the file's first bytes, not its name.
//!
//! What is a finding and what is could-not-check: an archive that is not there, or whose
//! content does not decode to its end (corrupt, cut short, not a tar), is a fact about the
//! backup and fails; an archive the file system will not let us read (permissions, I/O
//! error), one compressed in a way not read here, or one that takes longer than the check's
//! timeout is `error`.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::rc::Rc;
use std::time::Instant;

use serde_json::json;
use shipcheck_core::spec::archive::ArchiveProbe;

use super::{Finding, Observation, ProbeCtx};

/// The most entries listed; a larger archive is `error` (its listing is not all there).
pub const MAX_ENTRIES: usize = 200_000;
/// The most bytes of entry names listed: the listing is the item's evidence, kept in the
/// ledger, and bounded as a command's output is (1 MiB).
pub const MAX_NAME_BYTES: usize = 1 << 20;

impl crate::Observe for ArchiveProbe {
    fn observe(&self, ctx: &ProbeCtx) -> Result<Observation, String> {
        let pattern = ctx.path(&self.path)?;
        let path = crate::glob::newest_if_wildcard(&pattern)?;
        let absent = |what: String| {
            let mut obs = Observation::new(
                serde_json::Value::Null,
                format!("archive {}", pattern.display()),
            );
            obs.findings
                .push(Finding::new(false, "an archive is there", what));
            obs.settled = true;
            Ok(obs)
        };
        let Some(path) = path else {
            return absent(format!("nothing matches {}", pattern.display()));
        };
        // Not opened as a plain `File::open`: a FIFO in the backup's place would block it.
        let file = match shipcheck_core::bounded::open_regular(&path) {
            Ok(f) => f,
            Err(e) if e.is_not_found() => {
                return absent(format!("{} does not exist", path.display()));
            }
            Err(e) => return Err(e.to_string()),
        };
        let shown = format!("archive {}", path.display());
        let mut obs = Observation::new(serde_json::Value::Null, &shown);
        match list(file, ctx.deadline) {
            Ok(listing) => {
                obs.value = json!(listing.names.join("\n"));
                obs.findings.push(Finding::new(
                    true,
                    "the archive reads to its end",
                    format!("{} entries ({})", listing.names.len(), listing.compression),
                ));
            }
            Err(Unread::Corrupt(why)) => {
                obs.findings
                    .push(Finding::new(false, "the archive reads to its end", why));
                obs.settled = true;
            }
            Err(Unread::CannotTell(why)) => return Err(format!("{shown}: {why}")),
        }
        Ok(obs)
    }
}

/// An archive's entry names, in order.
#[derive(Debug)]
pub struct Listing {
    pub names: Vec<String>,
    pub compression: &'static str,
}

/// Why a listing is not there.
#[derive(Debug, PartialEq)]
pub enum Unread {
    /// The content does not decode: a finding about the archive.
    Corrupt(String),
    /// The archive could not be observed: the item is `error`.
    CannotTell(String),
}

/// Lists `file`'s entries, stopping with [`Unread::CannotTell`] at `deadline`.
pub fn list(file: File, deadline: Option<Instant>) -> Result<Listing, Unread> {
    // The file's own read errors and the deadline are told apart from decoding errors
    // (which the decoders also return as io::Error) by recording them here.
    let failure = Rc::new(RefCell::new(None));
    let source = Guarded {
        inner: file,
        deadline,
        failure: Rc::clone(&failure),
    };
    let mut reader = BufReader::with_capacity(64 << 10, source);
    let magic = reader.fill_buf().map(<[u8]>::to_vec);
    let cannot_tell = |e: io::Error| {
        Unread::CannotTell(failure.borrow_mut().take().unwrap_or_else(|| e.to_string()))
    };
    let magic = magic.map_err(cannot_tell)?;
    let (compression, decoded): (&'static str, Box<dyn Read>) = match magic.as_slice() {
        [0x1f, 0x8b, ..] => (
            "gzip",
            Box::new(flate2::bufread::MultiGzDecoder::new(reader)),
        ),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => (
            "zstd",
            Box::new(zstd::stream::read::Decoder::with_buffer(reader).map_err(cannot_tell)?),
        ),
        [b'B', b'Z', b'h', ..] => {
            return Err(Unread::CannotTell("bzip2 archives are not read".into()));
        }
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => {
            return Err(Unread::CannotTell("xz archives are not read".into()));
        }
        _ => ("not compressed", Box::new(reader)),
    };
    let corrupt_or_not = |e: io::Error| match failure.borrow_mut().take() {
        Some(why) => Unread::CannotTell(why),
        None => Unread::Corrupt(format!("it does not read as a tar archive to its end: {e}")),
    };
    let mut archive = tar::Archive::new(decoded);
    let mut names = Vec::new();
    let mut bytes = 0usize;
    for entry in archive.entries().map_err(corrupt_or_not)? {
        let entry = entry.map_err(corrupt_or_not)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        bytes += name.len() + 1;
        if names.len() == MAX_ENTRIES || bytes > MAX_NAME_BYTES {
            return Err(Unread::CannotTell(format!(
                "it holds more than {MAX_ENTRIES} entries or {} MiB of names, more than is listed",
                MAX_NAME_BYTES >> 20
            )));
        }
        names.push(name);
    }
    // `entries` stops at the first zero block; what follows (the rest of the end-of-archive
    // padding, the gzip trailer with its checksum) is read too, as `tar -tzf` does, so a
    // compressed backup cut short is not taken for a whole one.
    io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(corrupt_or_not)?;
    if names.is_empty() && magic.is_empty() {
        return Err(Unread::Corrupt("the file is empty".into()));
    }
    if let Some(why) = failure.borrow_mut().take() {
        return Err(Unread::CannotTell(why));
    }
    Ok(Listing { names, compression })
}

/// The archive file, refusing to read past the deadline and remembering its own errors.
struct Guarded {
    inner: File,
    deadline: Option<Instant>,
    failure: Rc<RefCell<Option<String>>>,
}

impl Read for Guarded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            let why = "reading it took longer than the check's timeout".to_string();
            *self.failure.borrow_mut() = Some(why.clone());
            return Err(io::Error::other(why));
        }
        self.inner.read(buf).inspect_err(|e| {
            *self.failure.borrow_mut() = Some(format!("cannot read it: {e}"));
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io::Write;
    use std::sync::Arc;

    use shipcheck_core::pack::Text;

    use super::*;

    fn tar_of(names: &[&str]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for name in names {
            let body = b"x";
            let mut h = tar::Header::new_gnu();
            h.set_size(body.len() as u64);
            h.set_mode(0o600);
            h.set_cksum();
            b.append_data(&mut h, name, &body[..]).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn listed(bytes: &[u8]) -> Result<Listing, Unread> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        std::fs::write(&path, bytes).unwrap();
        list(File::open(&path).unwrap(), None)
    }

    const NAMES: &[&str] = &["state/secureclaw.json", "state/credentials/creds.json"];

    #[test]
    fn names_are_listed_in_order_whatever_the_compression() {
        let tar = tar_of(NAMES);
        let zst = zstd::stream::encode_all(&tar[..], 1).unwrap();
        for (bytes, compression) in [
            (tar.clone(), "not compressed"),
            (gzip(&tar), "gzip"),
            (zst, "zstd"),
        ] {
            let l = listed(&bytes).unwrap();
            assert_eq!(l.names, NAMES, "{compression}");
            assert_eq!(l.compression, compression);
        }
        // Two gzip members, as `cat a.gz b.gz` or pigz write: gunzip reads both.
        let mut two = gzip(&tar[..1024]);
        two.extend(gzip(&tar[1024..]));
        assert_eq!(listed(&two).unwrap().names, NAMES);
    }

    #[test]
    fn content_that_does_not_decode_is_a_finding_not_an_error() {
        let gz = gzip(&tar_of(NAMES));
        for (bytes, what) in [
            (gz[..gz.len() / 2].to_vec(), "gzip cut short"),
            (b"just some text, no archive\n".repeat(40), "not a tar"),
            (Vec::new(), "empty"),
        ] {
            assert!(
                matches!(listed(&bytes), Err(Unread::Corrupt(_))),
                "{what}: {:?}",
                listed(&bytes)
            );
        }
        // Cut in the end-of-archive padding or the gzip trailer: every entry lists, but
        // the stream is not whole (`tar -tzf` says "unexpected end of file").
        assert!(matches!(
            listed(&gz[..gz.len() - 4]),
            Err(Unread::Corrupt(_))
        ));
        // A tar cut in the middle of an entry's content.
        let tar = tar_of(&["a", "b"]);
        assert!(matches!(listed(&tar[..600]), Err(Unread::Corrupt(_))));
    }

    #[test]
    fn what_cannot_be_read_is_could_not_check() {
        // A folder opens but does not read (EISDIR): the file system's error, not corruption.
        let dir = tempfile::tempdir().unwrap();
        let file = File::open(dir.path()).unwrap();
        assert!(
            matches!(list(file, None), Err(Unread::CannotTell(why)) if why.contains("cannot read"))
        );
        // Past the deadline nothing is read.
        let path = dir.path().join("a.tar");
        std::fs::write(&path, tar_of(NAMES)).unwrap();
        let past = Instant::now() - std::time::Duration::from_millis(1);
        let r = list(File::open(&path).unwrap(), Some(past));
        assert!(matches!(r, Err(Unread::CannotTell(why)) if why.contains("timeout")));
        // A compression not read here is said, not taken for a corrupt tar.
        for (magic, name) in [
            (&b"BZh91AY&SY"[..], "bzip2"),
            (&[0xfd, b'7', b'z', b'X', b'Z', 0, 0][..], "xz"),
        ] {
            assert!(matches!(listed(magic), Err(Unread::CannotTell(why)) if why.contains(name)));
        }
    }

    #[test]
    fn a_listing_larger_than_the_bound_is_could_not_check() {
        let name = "d/".repeat(49) + "f";
        let names: Vec<String> = (0..(MAX_NAME_BYTES / 100 + 10))
            .map(|i| format!("{name}{i:08}"))
            .collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        match listed(&tar_of(&refs)) {
            Err(Unread::CannotTell(why)) => assert!(why.contains("more than"), "{why}"),
            other => panic!("{:?}", other.map(|l| l.names.len())),
        }
    }

    #[test]
    fn a_fifo_in_the_backups_place_is_could_not_check_and_does_not_block() {
        use crate::Observe;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("b.tar.gz");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        // No writer: a plain open would wait for one forever.
        let e = probe("*.tar.gz").observe(&ctx(dir.path())).unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
    }

    fn ctx(dir: &std::path::Path) -> ProbeCtx {
        ProbeCtx {
            vars: Arc::new(BTreeMap::new()),
            base_dir: dir.to_owned(),
            cache: Arc::default(),
            deadline: None,
        }
    }

    fn probe(path: &str) -> ArchiveProbe {
        ArchiveProbe {
            path: Text::new(
                path.to_string(),
                serde_saphyr::Location::UNKNOWN,
                serde_saphyr::Location::UNKNOWN,
            ),
        }
    }

    #[test]
    fn a_wildcard_reads_the_newest_archive_and_none_is_a_failure() {
        use crate::Observe;
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("b-old.tar.gz");
        std::fs::write(&old, gzip(&tar_of(&["old/secureclaw.json"]))).unwrap();
        let t = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(t)
            .unwrap();
        std::fs::write(dir.path().join("a-new.tar.gz"), gzip(&tar_of(NAMES))).unwrap();
        let obs = probe("*.tar.gz").observe(&ctx(dir.path())).unwrap();
        assert_eq!(obs.value, json!(NAMES.join("\n")));
        assert!(obs.findings.iter().all(|f| f.ok), "{:?}", obs.findings);
        assert!(obs.source.ends_with("a-new.tar.gz"), "{}", obs.source);

        for missing in ["*.tar.zst", "gone.tar.gz"] {
            let obs = probe(missing).observe(&ctx(dir.path())).unwrap();
            assert!(obs.settled && !obs.findings[0].ok, "{missing}");
        }
        std::fs::write(dir.path().join("c.tar.gz"), b"\x1f\x8b garbage").unwrap();
        let obs = probe("c.tar.gz").observe(&ctx(dir.path())).unwrap();
        assert!(obs.settled && !obs.findings[0].ok);
        assert!(
            obs.findings[0].observed.contains("does not read as a tar"),
            "{:?}",
            obs.findings
        );
    }
}
