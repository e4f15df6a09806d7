//! Refusal of recursive jq definitions, which jaq evaluates on the native stack.

/// The first definition in `code` whose body calls itself, with its byte offset. jaq
/// evaluates recursion on the native stack, so an unbounded one (`def f: [f]; f`) would
/// overflow it and abort the process; shipcheck does not run recursive definitions.
/// Hand-written: jaq exposes no parsed definitions to walk; a token scan that skips strings
/// and comments is enough to find `def NAME ... : BODY;` and the calls in BODY.
pub(super) fn recursive_def(code: &str) -> Option<(String, usize)> {
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
        } else if !c.is_ascii() {
            // Not jq syntax outside strings (jaq rejects it); skipped byte by byte, never
            // sliced, since `i` may be inside a character (found by the `pack` fuzz target).
            i += 1;
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
