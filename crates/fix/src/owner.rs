//! User and group names as the system's databases hold them (`/etc/passwd`, `/etc/group`),
//! for a chown remedy. Hand-written: a lookup is one line of a colon-separated file, and the
//! crates that call getpwnam need libc bindings this workspace does not otherwise use.

/// The id of `name` in a colon-separated database (`name:x:ID:…`), or `name` itself when
/// numeric.
fn lookup(db: &str, name: &str) -> Result<u32, String> {
    if let Ok(id) = name.parse::<u32>() {
        return Ok(id);
    }
    let bytes = shipcheck_core::bounded::read_bounded(std::path::Path::new(db), 4 << 20)
        .map_err(|e| format!("{db}: {e}"))?;
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let (n, _, id) = (f.next()?, f.next()?, f.next()?);
            (n == name).then(|| id.parse().ok()).flatten()
        })
        .next()
        .ok_or_else(|| format!("no `{name}` in {db}"))
}

/// The uid of a user name (or a numeric uid).
pub fn uid(name: &str) -> Result<u32, String> {
    lookup("/etc/passwd", name)
}

/// The gid of a group name (or a numeric gid).
pub fn gid(name: &str) -> Result<u32, String> {
    lookup("/etc/group", name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_numbers_resolve() {
        assert_eq!(uid("root"), Ok(0));
        assert_eq!(uid("1234"), Ok(1234));
        assert_eq!(gid("root"), Ok(0));
        assert!(
            uid("no-such-user-here")
                .unwrap_err()
                .contains("no `no-such-user-here`")
        );
    }
}
