//! Line edits of a YAML file's block mappings: a key's scalar value replaced (quote style and
//! trailing comment kept), a key removed with its block, or a key added after its siblings.
//! Every edit is checked by parsing the result (serde-saphyr): the document must still parse,
//! hold the new value at the key, and be otherwise equal; an edit that cannot be made this
//! way (a flow collection, a multi-line value, anchors) is refused, so the file is never
//! rewritten from a parsed value.

use serde_json::Value;

/// The lines of `path`'s key, found by indentation: (key line, end of its block).
fn locate(lines: &[&str], path: &[&str]) -> Option<(usize, usize)> {
    let (mut from, mut to, mut parent_indent) = (0, lines.len(), -1i64);
    let mut found = None;
    for key in path {
        let mut hit = None;
        let mut child_indent = None;
        for (i, l) in lines.iter().enumerate().take(to).skip(from) {
            let t = l.trim_start();
            if t.is_empty() || t.starts_with('#') || t == "---" {
                continue;
            }
            let indent = (l.len() - t.len()) as i64;
            if indent <= parent_indent {
                break;
            }
            let ci = *child_indent.get_or_insert(indent);
            if indent != ci {
                continue;
            }
            if key_of(t) == Some(*key) {
                hit = Some((i, indent));
                break;
            }
        }
        let (line, indent) = hit?;
        let end = (line + 1..to)
            .find(|&j| {
                let t = lines[j].trim_start();
                !t.is_empty() && !t.starts_with('#') && (lines[j].len() - t.len()) as i64 <= indent
            })
            .unwrap_or(to);
        found = Some((line, end));
        (from, to, parent_indent) = (line + 1, end, indent);
    }
    found
}

/// The key of a `key: value` line.
fn key_of(t: &str) -> Option<&str> {
    let (k, _) = t.split_once(':')?;
    let k = k.trim();
    let k = k
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .or_else(|| k.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')))
        .unwrap_or(k);
    (!k.is_empty() && !k.starts_with(['-', '[', '{'])).then_some(k)
}

/// The value's range in its line (after `key:`, before a ` #` comment).
fn value_range(line: &str) -> Option<(usize, usize)> {
    let colon = line.find(": ").or_else(|| {
        line.trim_end()
            .ends_with(':')
            .then(|| line.trim_end().len() - 1)
    })?;
    let start = colon + 1 + (line[colon + 1..].len() - line[colon + 1..].trim_start().len());
    let rest = &line[start..];
    let end = match rest.chars().next() {
        Some(q @ ('"' | '\'')) => rest[1..].find(q).map(|p| start + p + 2)?,
        _ => {
            start
                + rest[..rest.find(" #").unwrap_or(rest.len())]
                    .trim_end()
                    .len()
        }
    };
    Some((start, end))
}

fn parse(text: &str) -> Result<Value, String> {
    serde_saphyr::from_str::<Value>(text).map_err(|e| format!("not YAML: {e}"))
}

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

/// `text` with `path` set to `value` (a scalar), checked by parsing the result.
pub fn set(text: &str, path: &str, value: &Value) -> Result<String, String> {
    let before = parse(text)?;
    let keys: Vec<&str> = path.split('.').collect();
    let lines: Vec<&str> = text.split('\n').collect();
    let rendered = match value {
        Value::String(s) => serde_json::to_string(s).map_err(|e| e.to_string())?,
        Value::Array(_) | Value::Object(_) => {
            return Err("only a scalar is set in a YAML file".into());
        }
        other => other.to_string(),
    };
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    match locate(&lines, &keys) {
        Some((line, end)) => {
            if end > line + 1
                && lines[line + 1..end]
                    .iter()
                    .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            {
                return Err(format!(
                    "`{path}` holds a block, not a scalar: set it by hand"
                ));
            }
            let (s, e) = value_range(lines[line])
                .ok_or_else(|| format!("`{path}`'s value is not on its line"))?;
            let old = &lines[line][s..e];
            let new = match (old.chars().next(), value) {
                (Some('\''), Value::String(v)) if !v.contains('\'') => format!("'{v}'"),
                _ => rendered,
            };
            out[line] = format!("{}{new}{}", &lines[line][..s], &lines[line][e..]);
        }
        None => {
            let (last, parents) = keys.split_last().ok_or("an empty key")?;
            let (pline, pend) = if parents.is_empty() {
                (usize::MAX, lines.len())
            } else {
                locate(&lines, parents)
                    .ok_or_else(|| format!("`{}` is missing: add it by hand", parents.join(".")))?
            };
            let first = if pline == usize::MAX { 0 } else { pline + 1 };
            let sibling = (first..pend)
                .find(|&i| key_of(lines[i].trim_start()).is_some())
                .ok_or_else(|| {
                    format!(
                        "`{}` has no keys to follow: add it by hand",
                        parents.join(".")
                    )
                })?;
            let indent =
                &lines[sibling][..lines[sibling].len() - lines[sibling].trim_start().len()];
            let after = (first..pend)
                .rev()
                .find(|&i| !lines[i].trim().is_empty())
                .map_or(first, |i| i + 1);
            out.insert(after, format!("{indent}{last}: {rendered}"));
        }
    }
    let text_after = out.join("\n");
    // The edit must read back as intended: the new value at the key, nothing else changed.
    let mut expected = before.clone();
    set_in(&mut expected, &keys, value.clone());
    let got = parse(&text_after)
        .map_err(|e| format!("the edited file would not parse ({e}): set `{path}` by hand"))?;
    if got != expected || at(&got, &keys) != Some(value) {
        return Err(format!(
            "a line edit of `{path}` would change more than its value: set it by hand"
        ));
    }
    Ok(text_after)
}

/// `text` without `path` (and its block), checked by parsing the result.
pub fn remove(text: &str, path: &str) -> Result<String, String> {
    let before = parse(text)?;
    let keys: Vec<&str> = path.split('.').collect();
    let lines: Vec<&str> = text.split('\n').collect();
    let Some((line, end)) = locate(&lines, &keys) else {
        return Ok(text.to_string());
    };
    let mut out: Vec<&str> = lines[..line].to_vec();
    out.extend_from_slice(&lines[end..]);
    let text_after = out.join("\n");
    let mut expected = before;
    remove_in(&mut expected, &keys);
    let got = parse(&text_after)
        .map_err(|e| format!("the edited file would not parse ({e}): remove `{path}` by hand"))?;
    if got != expected {
        return Err(format!(
            "a line edit removing `{path}` would change more: remove it by hand"
        ));
    }
    Ok(text_after)
}

/// The value of `path` as a string (for a `${VAR}` reference check).
pub fn get(text: &str, path: &str) -> Result<Option<String>, String> {
    let v = parse(text)?;
    let keys: Vec<&str> = path.split('.').collect();
    Ok(at(&v, &keys).map(|v| {
        v.as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| v.to_string())
    }))
}

fn set_in(v: &mut Value, path: &[&str], value: Value) {
    if let Some((last, parents)) = path.split_last() {
        let mut cur = v;
        for k in parents {
            cur = &mut cur[*k];
        }
        if let Some(map) = cur.as_object_mut() {
            map.insert((*last).to_string(), value);
        }
    }
}

fn remove_in(v: &mut Value, path: &[&str]) {
    if let Some((last, parents)) = path.split_last() {
        let mut cur = v;
        for k in parents {
            cur = &mut cur[*k];
        }
        if let Some(map) = cur.as_object_mut() {
            map.remove(*last);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DOC: &str = "# app\nserver:\n  bind: 0.0.0.0   # everywhere\n  port: 8080\n  tls:\n    enabled: false\nlog:\n  level: 'debug'\n";

    #[test]
    fn only_the_value_changes() {
        assert_eq!(
            set(DOC, "server.bind", &json!("127.0.0.1")).unwrap(),
            DOC.replace("0.0.0.0", "\"127.0.0.1\"")
        );
        assert_eq!(
            set(DOC, "server.tls.enabled", &json!(true)).unwrap(),
            DOC.replace("enabled: false", "enabled: true")
        );
        assert_eq!(
            set(DOC, "log.level", &json!("info")).unwrap(),
            DOC.replace("'debug'", "'info'")
        );
        assert_eq!(
            set(DOC, "log.format", &json!("json")).unwrap(),
            DOC.replace(
                "  level: 'debug'\n",
                "  level: 'debug'\n  format: \"json\"\n"
            )
        );
        assert_eq!(
            remove(DOC, "server.tls").unwrap(),
            DOC.replace("  tls:\n    enabled: false\n", "")
        );
        assert_eq!(get(DOC, "server.port").unwrap().as_deref(), Some("8080"));
    }

    #[test]
    fn what_a_line_edit_cannot_do_is_refused() {
        assert!(
            set(DOC, "server.tls", &json!(true))
                .unwrap_err()
                .contains("holds a block")
        );
        let flow = "server: {bind: 0.0.0.0}\n";
        assert!(set(flow, "server.bind", &json!("127.0.0.1")).is_err());
        assert!(
            set(DOC, "db.host", &json!("x"))
                .unwrap_err()
                .contains("`db` is missing")
        );
        assert!(set("a: [", "a", &json!(1)).is_err());
    }
}
