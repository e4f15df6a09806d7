//! User and group names as the system's databases hold them (`/etc/passwd`, `/etc/group`):
//! a file's owner as the file probe shows it, a chown remedy's user and group. Hand-written:
//! a lookup is one line of a colon-separated file, and the crates that call getpwnam need
//! libc bindings this workspace does not otherwise use (and work the same in static builds).

/// Largest database read (a directory service's users written out run to megabytes).
const MAX_DB_BYTES: u64 = 64 << 20;

/// A colon-separated database's text.
fn read(db: &str) -> Result<String, String> {
    let bytes = crate::bounded::read_bounded(std::path::Path::new(db), MAX_DB_BYTES)
        .map_err(|e| format!("{db}: {e}"))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Each entry's name and id (`name:x:ID:…`).
fn names_and_ids(text: &str) -> impl Iterator<Item = (&str, u32)> {
    text.lines().filter_map(|l| {
        let mut f = l.split(':');
        let (name, _, id) = (f.next()?, f.next()?, f.next()?);
        Some((name, id.parse().ok()?))
    })
}

/// The id of `name` in a colon-separated database, or `name` itself when numeric.
fn lookup(db: &str, name: &str) -> Result<u32, String> {
    if let Ok(id) = name.parse::<u32>() {
        return Ok(id);
    }
    names_and_ids(&read(db)?)
        .find_map(|(n, id)| (n == name).then_some(id))
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

/// The name of a uid (`None`: not in `/etc/passwd`); an error when the database cannot be
/// read, so that "cannot tell" is not "no such name".
pub fn user_name(uid: u32) -> Result<Option<String>, String> {
    name_in("/etc/passwd", uid)
}

fn name_in(db: &str, id: u32) -> Result<Option<String>, String> {
    Ok(names_and_ids(&read(db)?).find_map(|(n, i)| (i == id).then(|| n.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_numbers_resolve() {
        assert_eq!(uid("root"), Ok(0));
        assert_eq!(uid("1234"), Ok(1234));
        assert_eq!(gid("root"), Ok(0));
        assert_eq!(user_name(0), Ok(Some("root".to_string())));
        assert_eq!(user_name(4_000_000_000), Ok(None));
        let e = name_in("/nonexistent/passwd", 0).unwrap_err();
        assert!(e.starts_with("/nonexistent/passwd: "), "{e}");
        assert!(
            uid("no-such-user-here")
                .unwrap_err()
                .contains("no `no-such-user-here`")
        );
    }
}
