//! Line edits of an env file (`KEY=value`, `export KEY=value`, dotenv and systemd's
//! EnvironmentFile): one variable's line changed, added or removed; every other line,
//! comment and blank kept as it is.

/// The line index and value text of `key`'s last assignment (the one a reader keeps).
fn find(text: &str, key: &str) -> Option<(usize, String)> {
    let lines: Vec<&str> = text.split('\n').collect();
    lines.iter().enumerate().rev().find_map(|(i, line)| {
        let t = line.trim_start();
        let t = t.strip_prefix("export ").map_or(t, str::trim_start);
        let (k, v) = t.split_once('=')?;
        (k.trim() == key).then(|| (i, v.to_string()))
    })
}

/// The value of `key` as written (quotes included), if set.
pub fn get(text: &str, key: &str) -> Option<String> {
    find(text, key).map(|(_, v)| v)
}

/// Whether a value refers to another variable (`${X}`, `$X`): the value lives there.
pub fn reference(value: &str) -> Option<String> {
    let v = value.trim().trim_matches(['"', '\'']);
    let rest = v
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .or_else(|| v.strip_prefix('$'))?;
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// `text` with `key` set to `value`: its line rewritten (keeping `export`, the quote style
/// and a trailing comment), or a line appended.
pub fn set(text: &str, key: &str, value: &str) -> Result<String, String> {
    if value.contains(['\n', '\r']) {
        return Err("a value with a line break cannot be written to an env file".into());
    }
    let Some((at, old)) = find(text, key) else {
        let sep = if text.is_empty() || text.ends_with('\n') {
            ""
        } else {
            "\n"
        };
        return Ok(format!("{text}{sep}{key}={}\n", quote_like("", value)));
    };
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let line = &lines[at];
    let eq = line.find('=').unwrap_or(line.len());
    let (head, _) = line.split_at(eq + 1);
    // A comment after an unquoted value (` # why`) stays.
    let comment = if old.trim_start().starts_with(['"', '\'']) {
        String::new()
    } else {
        old.find(" #")
            .map(|c| old[c..].to_string())
            .unwrap_or_default()
    };
    let new_line = format!("{head}{}{comment}", quote_like(&old, value));
    lines[at] = new_line;
    Ok(lines.join("\n"))
}

/// `text` without `key`'s lines.
pub fn remove(text: &str, key: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        let t = t.strip_prefix("export ").map_or(t, str::trim_start);
        let is_key = t.split_once('=').is_some_and(|(k, _)| k.trim() == key);
        if !is_key {
            out.push_str(line);
        }
    }
    out
}

/// `value` quoted as `old` was (double, single or bare; bare values with blanks or `#` are
/// double-quoted).
fn quote_like(old: &str, value: &str) -> String {
    let old = old.trim_start();
    if old.starts_with('\'') && !value.contains('\'') {
        return format!("'{value}'");
    }
    if old.starts_with('"') || value.contains([' ', '#', '"', '\'', '\\', '$']) {
        let escaped = value
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('$', "\\$");
        return format!("\"{escaped}\"");
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENV: &str = "# gateway\nexport TOKEN=\"weak\"\nPORT=8080 # public\n\nNAME='app'\n";

    #[test]
    fn one_line_changes_and_the_rest_stays() {
        assert_eq!(
            set(ENV, "TOKEN", "strong").unwrap(),
            ENV.replace("\"weak\"", "\"strong\"")
        );
        assert_eq!(
            set(ENV, "PORT", "9090").unwrap(),
            ENV.replace("8080", "9090")
        );
        assert_eq!(
            set(ENV, "NAME", "x y").unwrap(),
            ENV.replace("'app'", "'x y'")
        );
        assert_eq!(set(ENV, "NEW", "1").unwrap(), format!("{ENV}NEW=1\n"));
        assert_eq!(set("A=1", "B", "2").unwrap(), "A=1\nB=2\n");
        assert_eq!(remove(ENV, "PORT"), ENV.replace("PORT=8080 # public\n", ""));
        assert!(set(ENV, "TOKEN", "a\nB=2").is_err());
    }

    #[test]
    fn references_are_found() {
        assert_eq!(
            reference("${GATEWAY_TOKEN}").as_deref(),
            Some("GATEWAY_TOKEN")
        );
        assert_eq!(reference("\"$DB_PASS\"").as_deref(), Some("DB_PASS"));
        assert_eq!(reference("plain"), None);
        assert_eq!(get(ENV, "TOKEN").as_deref(), Some("\"weak\""));
    }
}
