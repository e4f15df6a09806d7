//! Bounded reads: no probe or command reads more of a file than it can hold.

/// Reads at most `limit` bytes of a file, saying so if it is larger.
pub fn read_bounded(path: &std::path::Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut buf = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if buf.len() as u64 > limit {
        return Err(format!(
            "{} is larger than {} bytes; shipcheck does not read it",
            path.display(),
            limit
        ));
    }
    Ok(buf)
}

/// Largest file a probe reads: config files and content checks.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
