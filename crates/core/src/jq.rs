//! jq expressions (via the jaq crates), so the queries users already write
//! (`.gateway.auth.token`, `.gateway.controlUi.allowedOrigins // []`) work as written.

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data};
use jaq_json::Val;
use serde::Deserialize;
use serde_json::Value;

/// Most outputs kept from one evaluation, so `repeat` or `range(1e9)` cannot exhaust memory.
const MAX_OUTPUTS: usize = 10_000;

/// A jq expression that failed to parse or compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JqError {
    pub message: String,
    /// Byte offset in the expression where the problem is, when known.
    pub offset: Option<usize>,
}

impl std::fmt::Display for JqError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Checks that `code` parses and compiles, without running it.
pub fn check(code: &str) -> Result<(), JqError> {
    with_filter(code, |_| ())
}

/// Runs `code` on `input` and returns its outputs (at most [`MAX_OUTPUTS`]).
pub fn eval(code: &str, input: &Value) -> Result<Vec<Value>, String> {
    with_filter(code, |filter| {
        let input = Val::deserialize(input).map_err(|e| format!("cannot convert input: {e}"))?;
        let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new([]));
        let mut out = Vec::new();
        for item in filter.id.run((ctx, input)).take(MAX_OUTPUTS) {
            match item {
                Ok(v) => out.push(to_json(&v)?),
                Err(exn) => {
                    return Err(match exn.get_err() {
                        Ok(e) => format!("jq error: {e}"),
                        Err(other) => match other.get_halt() {
                            Ok(code) => format!("jq halted with code {code}"),
                            Err(_) => "jq error".to_string(),
                        },
                    });
                }
            }
        }
        Ok(out)
    })
    .map_err(|e| format!("invalid jq `{code}`: {e}"))?
}

/// The first output of `code` on `input`, or JSON null when it yields nothing.
pub fn first(code: &str, input: &Value) -> Result<Value, String> {
    Ok(eval(code, input)?.into_iter().next().unwrap_or(Value::Null))
}

/// jq truthiness: everything but `false` and `null` is true.
pub fn truthy(v: &Value) -> bool {
    !matches!(v, Value::Null | Value::Bool(false))
}

fn to_json(v: &Val) -> Result<Value, String> {
    let text = v.to_string();
    serde_json::from_str(&text).or_else(|_| Ok(Value::String(text)))
}

/// The first definition in `code` whose body calls itself, with its byte offset. jaq
/// evaluates recursion on the native stack, so an unbounded one (`def f: [f]; f`) would
/// overflow it and abort the process; shipcheck does not run recursive definitions.
/// Hand-written: jaq exposes no parsed definitions to walk; a token scan that skips strings
/// and comments is enough to find `def NAME ... : BODY;` and the calls in BODY.
fn recursive_def(code: &str) -> Option<(String, usize)> {
    // Tokens: identifiers (with their offset) and punctuation; strings and comments skipped.
    let bytes = code.as_bytes();
    let mut tokens: Vec<(&str, usize)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == b'#' {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            // `$name` is a variable and `.name` a key, not a call.
            let prev = code[..start].trim_end().as_bytes().last().copied();
            if !matches!(prev, Some(b'$' | b'.')) || &code[start..i] == "def" {
                tokens.push((&code[start..i], start));
            } else {
                tokens.push(("", start));
            }
        } else {
            if !c.is_ascii_whitespace() {
                tokens.push((&code[i..i + 1], i));
            }
            i += 1;
        }
    }
    for (k, (tok, at)) in tokens.iter().enumerate() {
        if *tok != "def" {
            continue;
        }
        let Some((name, _)) = tokens.get(k + 1) else {
            continue;
        };
        // The body: after the `:` that ends the head, up to the `;` at depth 0 (nested
        // definitions have their own `def ... ;`).
        let Some(colon) = tokens[k + 2..].iter().position(|(t, _)| *t == ":") else {
            continue;
        };
        let mut depth = 0i32;
        for (t, _) in &tokens[k + 3 + colon..] {
            match *t {
                "def" => depth += 1,
                ";" if depth == 0 => break,
                ";" => depth -= 1,
                t if t == *name => return Some((name.to_string(), *at)),
                _ => {}
            }
        }
    }
    None
}

fn with_filter<T>(
    code: &str,
    f: impl FnOnce(&jaq_core::Filter<data::JustLut<Val>>) -> T,
) -> Result<T, JqError> {
    if let Some((name, offset)) = recursive_def(code) {
        return Err(JqError {
            message: format!(
                "`{name}` calls itself: shipcheck does not run recursive jq definitions (an unbounded recursion would exhaust the stack)"
            ),
            offset: Some(offset),
        });
    }
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs());
    let loader = Loader::new(defs);
    let arena = Arena::default();
    let program = File { code, path: () };
    let modules = loader.load(&arena, program).map_err(|errs| {
        let mut first = None;
        let mut messages = Vec::new();
        for (_, err) in errs {
            match err {
                jaq_core::load::Error::Io(items) => {
                    messages.extend(items.into_iter().map(|(_, m)| m));
                }
                jaq_core::load::Error::Lex(items) => {
                    for (expect, at) in items {
                        first.get_or_insert(jaq_core::load::span(code, at).start);
                        messages.push(format!("expected {} {}", expect.as_str(), near(at)));
                    }
                }
                jaq_core::load::Error::Parse(items) => {
                    for (expect, at) in items {
                        first.get_or_insert(jaq_core::load::span(code, at).start);
                        messages.push(format!("expected {} {}", expect.as_str(), near(at)));
                    }
                }
            }
        }
        JqError {
            message: format!("syntax error: {}", messages.join("; ")),
            offset: first,
        }
    })?;
    let filter = Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|errs| {
            let mut first = None;
            let mut messages = Vec::new();
            for (_, items) in errs {
                for (name, undefined) in items {
                    first.get_or_insert(jaq_core::load::span(code, name).start);
                    messages.push(format!("undefined {} `{name}`", undefined.as_str()));
                }
            }
            JqError {
                message: messages.join("; "),
                offset: first,
            }
        })?;
    Ok(f(&filter))
}

fn near(at: &str) -> String {
    if at.is_empty() {
        "at end of expression".into()
    } else {
        let shown: String = at.chars().take(12).collect();
        format!("near `{shown}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recursive_definitions_are_refused() {
        for code in [
            "def f: f; f",
            "def f: [f]; f",
            "def f: 1 + f; f",
            "def g(x): x | g(x); g(.)",
        ] {
            let e = check(code).unwrap_err();
            assert!(e.message.contains("calls itself"), "{code}: {e}");
        }
        for code in [
            "def f: 1; f + f",
            "def secs: if type == \"number\" then . else 10 end; .a | secs",
            ".f as $f | $f",
            "def f: \"f\"; f",
            "def f: .f; f",
        ] {
            assert!(check(code).is_ok(), "{code}");
        }
    }
    use serde_json::json;

    #[test]
    fn runs_the_queries_checklists_use() {
        let doc = json!({"gateway": {"auth": {"token": "abc"}, "controlUi": {}}});
        assert_eq!(first(".gateway.auth.token", &doc).unwrap(), json!("abc"));
        assert_eq!(
            first(".gateway.controlUi.allowedOrigins // []", &doc).unwrap(),
            json!([])
        );
        assert_eq!(first(".missing.deep", &doc).unwrap(), Value::Null);
        assert_eq!(first(". <= 100", &json!(50)).unwrap(), json!(true));
        assert_eq!(
            first("[.[] | select(. == \"*\")] | length", &json!(["a", "*"])).unwrap(),
            json!(1)
        );
    }

    #[test]
    fn reports_syntax_and_undefined_errors() {
        let e = check(".a | ").unwrap_err();
        assert!(e.message.contains("syntax error"), "{e:?}");
        let e = check("nosuchfn(1)").unwrap_err();
        assert!(e.message.contains("undefined"), "{e:?}");
        assert_eq!(e.offset, Some(0));
    }

    #[test]
    fn runtime_errors_and_halt_do_not_exit() {
        assert!(eval("error(\"x\")", &json!(1)).is_err());
        assert!(eval("halt", &json!(1)).is_err());
        assert_eq!(eval("repeat(1)", &json!(1)).unwrap().len(), MAX_OUTPUTS);
    }
}
