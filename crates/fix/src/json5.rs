//! Lossless edits of a JSON or JSON5 file: a key's value replaced, a key removed, a key
//! added, touching only those bytes, so comments, order, quoting, indentation and trailing
//! commas stay as they are.
//!
//! Hand-written: the maintained JSON5 crates parse into values and write the file anew
//! (comments and layout lost), and jsonc-parser does not read JSON5's single-quoted strings.
//! This reads spans only; the probe's own parser (json5) judges the result.

use serde_json::Value;

/// Deepest nesting read.
const MAX_DEPTH: usize = 128;

#[derive(Debug)]
enum Node {
    Object { members: Vec<Member> },
    Array,
    Scalar,
}

#[derive(Debug)]
struct Member {
    key: String,
    /// Where the key starts (its quote, if any).
    start: usize,
    value: Spanned,
    /// Where the comma after the value is, if there is one.
    comma: Option<usize>,
}

#[derive(Debug)]
struct Spanned {
    node: Node,
    start: usize,
    end: usize,
    /// The quote of a string value.
    quote: Option<u8>,
}

struct Reader<'a> {
    s: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn fail<T>(&self, what: &str) -> Result<T, String> {
        let line = self.s[..self.at.min(self.s.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        Err(format!("line {line}: {what}"))
    }

    fn blank(&mut self) -> Result<(), String> {
        loop {
            match (self.s.get(self.at), self.s.get(self.at + 1)) {
                (Some(b' ' | b'\t' | b'\r' | b'\n'), _) => self.at += 1,
                (Some(b'/'), Some(b'/')) => {
                    while self.s.get(self.at).is_some_and(|&b| b != b'\n') {
                        self.at += 1;
                    }
                }
                (Some(b'/'), Some(b'*')) => {
                    let Some(end) = find(&self.s[self.at + 2..], b"*/") else {
                        return self.fail("a comment is not closed");
                    };
                    self.at += 2 + end + 2;
                }
                // A UTF-8 byte order mark or non-breaking space.
                (Some(0xEF), Some(0xBB)) if self.s.get(self.at + 2) == Some(&0xBF) => self.at += 3,
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Spanned, String> {
        if depth > MAX_DEPTH {
            return self.fail("nested too deeply");
        }
        self.blank()?;
        let start = self.at;
        match self.s.get(self.at) {
            Some(b'{') => {
                self.at += 1;
                let mut members = Vec::new();
                loop {
                    self.blank()?;
                    if self.s.get(self.at) == Some(&b'}') {
                        self.at += 1;
                        break;
                    }
                    let key_start = self.at;
                    let key = self.key()?;
                    self.blank()?;
                    if self.s.get(self.at) != Some(&b':') {
                        return self.fail("`:` expected after a key");
                    }
                    self.at += 1;
                    let value = self.value(depth + 1)?;
                    self.blank()?;
                    let comma = (self.s.get(self.at) == Some(&b',')).then_some(self.at);
                    members.push(Member {
                        key,
                        start: key_start,
                        value,
                        comma,
                    });
                    match self.s.get(self.at) {
                        Some(b',') => self.at += 1,
                        Some(b'}') => {}
                        _ => return self.fail("`,` or `}` expected"),
                    }
                }
                Ok(Spanned {
                    node: Node::Object { members },
                    start,
                    end: self.at,
                    quote: None,
                })
            }
            Some(b'[') => {
                self.at += 1;
                loop {
                    self.blank()?;
                    if self.s.get(self.at) == Some(&b']') {
                        self.at += 1;
                        break;
                    }
                    self.value(depth + 1)?;
                    self.blank()?;
                    match self.s.get(self.at) {
                        Some(b',') => self.at += 1,
                        Some(b']') => {}
                        _ => return self.fail("`,` or `]` expected"),
                    }
                }
                Ok(Spanned {
                    node: Node::Array,
                    start,
                    end: self.at,
                    quote: None,
                })
            }
            Some(&q @ (b'"' | b'\'')) => {
                self.string()?;
                Ok(Spanned {
                    node: Node::Scalar,
                    start,
                    end: self.at,
                    quote: Some(q),
                })
            }
            Some(_) => {
                while self.s.get(self.at).is_some_and(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.' | b'_')
                }) {
                    self.at += 1;
                }
                if self.at == start {
                    return self.fail("a value expected");
                }
                Ok(Spanned {
                    node: Node::Scalar,
                    start,
                    end: self.at,
                    quote: None,
                })
            }
            None => self.fail("the file ends where a value was expected"),
        }
    }

    /// A string at `at`; returns its decoded text (escapes resolved for keys).
    fn string(&mut self) -> Result<String, String> {
        let q = self.s[self.at];
        self.at += 1;
        let from = self.at;
        while let Some(&b) = self.s.get(self.at) {
            match b {
                b'\\' => self.at += 2,
                _ if b == q => {
                    let raw = String::from_utf8_lossy(&self.s[from..self.at]).into_owned();
                    self.at += 1;
                    return Ok(raw);
                }
                b'\n' => return self.fail("a string is not closed on its line"),
                _ => self.at += 1,
            }
        }
        self.fail("a string is not closed")
    }

    fn key(&mut self) -> Result<String, String> {
        match self.s.get(self.at) {
            Some(b'"' | b'\'') => self.string(),
            Some(b) if b.is_ascii_alphabetic() || matches!(b, b'_' | b'$') => {
                let from = self.at;
                while self
                    .s
                    .get(self.at)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$'))
                {
                    self.at += 1;
                }
                Ok(String::from_utf8_lossy(&self.s[from..self.at]).into_owned())
            }
            _ => self.fail("a key expected"),
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse(text: &str) -> Result<Spanned, String> {
    let mut r = Reader {
        s: text.as_bytes(),
        at: 0,
    };
    let root = r.value(0)?;
    r.blank()?;
    if r.at != text.len() {
        return r.fail("text after the document");
    }
    Ok(root)
}

/// The member at `path` in the object `node` (its parent's members, and its index).
fn walk<'a>(node: &'a Spanned, path: &[&str]) -> Result<(&'a [Member], usize), String> {
    let Node::Object { members } = &node.node else {
        return Err("not an object".into());
    };
    let (first, rest) = path.split_first().ok_or("an empty key")?;
    let i = members
        .iter()
        .rposition(|m| m.key == *first)
        .ok_or_else(|| format!("no key `{first}`"))?;
    if rest.is_empty() {
        return Ok((members, i));
    }
    walk(&members[i].value, rest).map_err(|e| format!("{first}.{e}"))
}

/// The value at `path` as written (its text), if present.
pub fn get<'a>(text: &'a str, path: &str) -> Result<Option<&'a str>, String> {
    let root = parse(text)?;
    let keys: Vec<&str> = path.split('.').collect();
    Ok(walk(&root, &keys)
        .ok()
        .map(|(members, i)| &text[members[i].value.start..members[i].value.end]))
}

/// `text` with the value at `path` set to `value`: replaced in place when the key exists
/// (a string keeps its quote character), else added to its parent object after the last
/// member, in the style of that member's line.
pub fn set(text: &str, path: &str, value: &Value) -> Result<String, String> {
    let root = parse(text)?;
    let keys: Vec<&str> = path.split('.').collect();
    if let Ok((members, i)) = walk(&root, &keys) {
        let v = &members[i].value;
        let rendered = render(value, v.quote);
        return Ok(format!("{}{rendered}{}", &text[..v.start], &text[v.end..]));
    }
    // Added: the parent must exist.
    let (last, parents) = keys.split_last().ok_or("an empty key")?;
    let parent = if parents.is_empty() {
        &root
    } else {
        let (members, i) = walk(&root, parents)
            .map_err(|e| format!("`{}` is missing ({e}): add it by hand", parents.join(".")))?;
        &members[i].value
    };
    let Node::Object { members } = &parent.node else {
        return Err(format!("`{}` is not an object", parents.join(".")));
    };
    let unquoted = members.iter().all(|m| text.as_bytes()[m.start] != b'"');
    let key = if unquoted && is_identifier(last) {
        (*last).to_string()
    } else {
        Value::from(*last).to_string()
    };
    let member = format!("{key}: {}", render(value, None));
    let Some(prev) = members.last() else {
        // `{}` (perhaps with blanks inside): the member goes inside.
        return Ok(format!(
            "{}{{ {member} }}{}",
            &text[..parent.start],
            &text[parent.end..]
        ));
    };
    let line_start = text[..prev.start].rfind('\n').map_or(0, |n| n + 1);
    let own_line = text[line_start..prev.start].trim().is_empty();
    let after_prev = prev.comma.map_or(prev.value.end, |c| c + 1);
    if own_line {
        let indent = &text[line_start..prev.start];
        let comma = if prev.comma.is_some() { "," } else { "" };
        let (head, tail) = text.split_at(after_prev);
        let fixed_head = if prev.comma.is_some() {
            head.to_string()
        } else {
            format!("{head},")
        };
        // After the rest of the previous member's line (a trailing comment stays on it).
        let eol = tail.find('\n').unwrap_or(tail.len());
        let (rest_of_line, after) = tail.split_at(eol);
        Ok(format!(
            "{fixed_head}{rest_of_line}\n{indent}{member}{comma}{after}"
        ))
    } else {
        let (head, tail) = text.split_at(prev.value.end);
        let tail = tail.strip_prefix(',').unwrap_or(tail);
        Ok(format!(
            "{head}, {member}{}{tail}",
            if prev.comma.is_some() { "," } else { "" }
        ))
    }
}

/// `text` without the key at `path` (unchanged when it is absent): its whole line when it
/// has a line of its own, else the member and its comma.
pub fn remove(text: &str, path: &str) -> Result<String, String> {
    let root = parse(text)?;
    let keys: Vec<&str> = path.split('.').collect();
    let Ok((members, i)) = walk(&root, &keys) else {
        return Ok(text.to_string());
    };
    let m = &members[i];
    let end = m.comma.map_or(m.value.end, |c| c + 1);
    let line_start = text[..m.start].rfind('\n').map_or(0, |n| n + 1);
    let rest = &text[end..];
    let eol = rest.find('\n').map_or(rest.len(), |n| n + 1);
    let own_line = text[line_start..m.start].trim().is_empty()
        && (rest[..eol].trim().is_empty() || rest[..eol].trim_start().starts_with("//"));
    let (from, to) = if own_line {
        (line_start, end + eol)
    } else if m.comma.is_some() {
        let spaces = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        (m.start, end + spaces)
    } else if i > 0 {
        // The last member without a comma: the comma before it goes.
        (
            members[i - 1].comma.unwrap_or(members[i - 1].value.end),
            m.value.end,
        )
    } else {
        (m.start, m.value.end)
    };
    let mut out = format!("{}{}", &text[..from], &text[to..]);
    // A last member removed on its own line leaves the previous one's comma, which JSON
    // (not JSON5) refuses.
    if own_line
        && m.comma.is_none()
        && i > 0
        && let Some(c) = members[i - 1].comma
    {
        out.replace_range(c..c + 1, "");
    }
    Ok(out)
}

fn is_identifier(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_' || c == b'$')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'$')
}

/// A value as JSON, a string in the quote character it replaces.
fn render(value: &Value, quote: Option<u8>) -> String {
    match (value, quote) {
        (Value::String(s), Some(b'\'')) => {
            let inner = serde_json::to_string(s).unwrap_or_default();
            let inner = &inner[1..inner.len() - 1];
            format!("'{}'", inner.replace("\\\"", "\"").replace('\'', "\\'"))
        }
        _ => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DOC: &str = "// SecureClaw config\n{\n  gateway: {\n    mode: \"local\", // why local\n    auth: { mode: \"token\", token: 'changeme' },\n    token: \"changeme\",\n    controlUi: {\n      allowInsecureAuth: true,\n    },\n  },\n}\n";

    #[test]
    fn a_value_is_replaced_in_place_with_its_quote() {
        let out = set(DOC, "gateway.auth.token", &json!("n3w'x")).unwrap();
        assert_eq!(out, DOC.replace("'changeme'", "'n3w\\'x'"));
        let out = set(DOC, "gateway.controlUi.allowInsecureAuth", &json!(false)).unwrap();
        assert_eq!(
            out,
            DOC.replace("allowInsecureAuth: true", "allowInsecureAuth: false")
        );
        assert_eq!(get(&out, "gateway.mode").unwrap(), Some("\"local\""));
    }

    #[test]
    fn a_key_is_removed_with_its_line_or_its_comma() {
        let out = remove(DOC, "gateway.token").unwrap();
        assert_eq!(out, DOC.replace("    token: \"changeme\",\n", ""));
        let out = remove(DOC, "gateway.auth.token").unwrap();
        assert_eq!(out, DOC.replace(", token: 'changeme' }", " }"));
        let out = remove(DOC, "gateway.auth.mode").unwrap();
        assert_eq!(out, DOC.replace("{ mode: \"token\", token", "{ token"));
        assert_eq!(remove(DOC, "gateway.absent").unwrap(), DOC);
        // Plain JSON: the comma before a removed last member goes too.
        let json = "{\n  \"a\": 1,\n  \"b\": 2\n}\n";
        assert_eq!(remove(json, "b").unwrap(), "{\n  \"a\": 1\n}\n");
    }

    #[test]
    fn a_missing_key_is_added_in_the_style_of_its_siblings() {
        let out = set(
            DOC,
            "gateway.controlUi.allowedOrigins",
            &json!(["https://a"]),
        )
        .unwrap();
        assert_eq!(
            out,
            DOC.replace(
                "      allowInsecureAuth: true,\n",
                "      allowInsecureAuth: true,\n      allowedOrigins: [\"https://a\"],\n"
            )
        );
        let json = "{\n  \"a\": 1 // one\n}\n";
        assert_eq!(
            set(json, "b", &json!(2)).unwrap(),
            "{\n  \"a\": 1, // one\n  \"b\": 2\n}\n"
        );
        let out = set(DOC, "gateway.auth.scope", &json!("x")).unwrap();
        assert!(
            out.contains("{ mode: \"token\", token: 'changeme', scope: \"x\" }"),
            "{out}"
        );
        let err = set(DOC, "logging.level", &json!("info")).unwrap_err();
        assert!(err.contains("`logging` is missing"), "{err}");
    }

    #[test]
    fn hostile_text_is_refused_not_misread() {
        for bad in [
            "{ a: 1",
            "{ a: 'x }",
            "{ /* open",
            "[1, 2",
            "{ a 1 }",
            "{} trailing",
        ] {
            assert!(set(bad, "a", &json!(1)).is_err(), "{bad}");
        }
        let deep = "[".repeat(10_000);
        assert!(parse(&deep).unwrap_err().contains("nested too deeply"));
    }
}
