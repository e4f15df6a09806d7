//! Line edits of an INI file (`[section]`, `key = value` or `key: value`, `;` and `#`
//! comments): a key is `section.key` (or `key` before any section). One line changes, is
//! added at the end of its section, or goes; the rest stays as it is.

/// Where `key` of `section` is: its line, and the range of its value in that line.
fn find(lines: &[&str], section: Option<&str>, key: &str) -> Option<(usize, usize, usize)> {
    let mut current: Option<String> = None;
    let mut found = None;
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            current = Some(name.trim().to_string());
            continue;
        }
        if t.starts_with([';', '#']) || current.as_deref() != section {
            continue;
        }
        let Some(sep) = line.find(['=', ':']) else {
            continue;
        };
        if line[..sep].trim() != key {
            continue;
        }
        let rest = &line[sep + 1..];
        let start = sep + 1 + (rest.len() - rest.trim_start().len());
        // A comment after the value (` ;` or ` #`) stays.
        let end = [" ;", " #"]
            .iter()
            .filter_map(|c| line[start..].find(c).map(|p| start + p))
            .min()
            .unwrap_or(line.trim_end().len())
            .max(start);
        found = Some((i, start, end));
    }
    found
}

/// The section and key of a dotted path.
fn split(path: &str) -> (Option<&str>, &str) {
    match path.split_once('.') {
        Some((section, key)) => (Some(section), key),
        None => (None, path),
    }
}

/// The value of `path` as written.
pub fn get(text: &str, path: &str) -> Option<String> {
    let lines: Vec<&str> = text.split('\n').collect();
    let (section, key) = split(path);
    find(&lines, section, key).map(|(i, s, e)| lines[i][s..e].trim_end().to_string())
}

/// `text` with `path` set to `value`.
pub fn set(text: &str, path: &str, value: &str) -> Result<String, String> {
    if value.contains(['\n', '\r']) {
        return Err("a value with a line break cannot be written to an INI file".into());
    }
    let lines: Vec<&str> = text.split('\n').collect();
    let (section, key) = split(path);
    if let Some((i, s, e)) = find(&lines, section, key) {
        let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        let line = lines[i];
        let spacing = &line[s..e][line[s..e].trim_end().len()..];
        out[i] = format!("{}{value}{spacing}{}", &line[..s], &line[e..]);
        return Ok(out.join("\n"));
    }
    // Added after the last line of its section (the section must exist).
    let header = match section {
        None => None,
        Some(name) => Some(
            lines
                .iter()
                .position(|l| {
                    l.trim()
                        .strip_prefix('[')
                        .and_then(|r| r.strip_suffix(']'))
                        .map(str::trim)
                        == Some(name)
                })
                .ok_or_else(|| format!("no section [{name}]: add it by hand"))?,
        ),
    };
    let from = header.map_or(0, |h| h + 1);
    let next = lines[from..]
        .iter()
        .position(|l| l.trim_start().starts_with('['))
        .map_or(lines.len(), |p| from + p);
    let last = (from..next)
        .rev()
        .find(|&i| !lines[i].trim().is_empty())
        .map_or(from, |i| i + 1);
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    out.insert(last, format!("{key} = {value}"));
    Ok(out.join("\n"))
}

/// `text` without `path`'s line.
pub fn remove(text: &str, path: &str) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let (section, key) = split(path);
    match find(&lines, section, key) {
        Some((i, _, _)) => {
            let mut out = lines.clone();
            out.remove(i);
            out.join("\n")
        }
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INI: &str =
        "; app\nmode = dev\n\n[db]\nhost = 10.0.0.5  ; primary\nport: 5432\n\n[log]\nlevel=debug\n";

    #[test]
    fn one_line_changes_and_the_rest_stays() {
        assert_eq!(
            set(INI, "db.host", "127.0.0.1").unwrap(),
            INI.replace("10.0.0.5", "127.0.0.1")
        );
        assert_eq!(
            set(INI, "log.level", "info").unwrap(),
            INI.replace("level=debug", "level=info")
        );
        assert_eq!(
            set(INI, "mode", "prod").unwrap(),
            INI.replace("mode = dev", "mode = prod")
        );
        assert_eq!(
            set(INI, "db.sslmode", "require").unwrap(),
            INI.replace("port: 5432\n", "port: 5432\nsslmode = require\n")
        );
        assert_eq!(remove(INI, "db.port"), INI.replace("port: 5432\n", ""));
        assert_eq!(get(INI, "db.host").as_deref(), Some("10.0.0.5"));
        assert!(
            set(INI, "tls.cert", "x")
                .unwrap_err()
                .contains("no section [tls]")
        );
    }
}
