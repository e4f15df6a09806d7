//! The Caddyfile as Caddy reads it: the global options block, snippets and `import`
//! (snippets or files), site blocks (or one site without braces), directives one per line
//! with nested blocks, `{$VAR}` / `{$VAR:default}` placeholders, and automatic HTTPS
//! (redirects, internal certificates for local names). Hand-written: the only parser is
//! Caddy's own (Go); tests compare this one with `caddy adapt` where Caddy is installed.
//!
//! In the raw tree, the global options block is the directive `global` and each site block
//! the directive `site` with its addresses as arguments; snippets are spliced where imported.

use std::collections::BTreeMap;
use std::path::Path;

use super::proxy::{Directive, Loader, MAX_DEPTH, MAX_FILES, MAX_INCLUDE_DEPTH, Parsed};

mod sites;
use sites::{credentials, sites};

#[derive(Clone, Debug)]
struct Token {
    text: String,
    line: usize,
    quoted: bool,
}

fn tokens(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                line += 1;
                at_start = true;
            }
            c if c.is_whitespace() => at_start = true,
            '#' if at_start => {
                while chars.peek().is_some_and(|&c| c != '\n') {
                    chars.next();
                }
            }
            '\\' if chars.peek() == Some(&'\n') => {
                // Line continuation: the next line's tokens belong to this line.
                chars.next();
            }
            q @ ('"' | '`') => {
                let start = line;
                let mut word = String::new();
                loop {
                    match chars.next() {
                        None => return Err(format!("{file}:{start}: unterminated quote")),
                        Some('\\') if q == '"' && chars.peek() == Some(&'"') => {
                            chars.next();
                            word.push('"');
                        }
                        Some(c) if c == q => break,
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            word.push(c);
                        }
                    }
                }
                out.push(Token {
                    text: placeholders(&word, env),
                    line: start,
                    quoted: true,
                });
                at_start = false;
            }
            c => {
                let mut word = String::from(c);
                while chars.peek().is_some_and(|c| !c.is_whitespace()) {
                    word.extend(chars.next());
                }
                out.push(Token {
                    text: placeholders(&word, env),
                    line,
                    quoted: false,
                });
                at_start = false;
            }
        }
    }
    Ok(out)
}

/// `{$VAR}` and `{$VAR:default}` as Caddy replaces them when it reads the file: the
/// variable, else the default, else (with no environment to ask) left as written.
fn placeholders(word: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = word;
    while let Some(i) = rest.find("{$") {
        let Some(end) = rest[i..].find('}') else {
            break;
        };
        out.push_str(&rest[..i]);
        let inner = &rest[i + 2..i + end];
        let (name, default) = inner
            .split_once(':')
            .map_or((inner, None), |(n, d)| (n, Some(d)));
        match (env(name), default) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => out.push_str(&rest[i..=i + end]),
        }
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    out
}

struct Reader<'a> {
    loader: &'a mut dyn Loader,
    env: &'a dyn Fn(&str) -> Option<String>,
    snippets: BTreeMap<String, Vec<Directive>>,
    files: Vec<String>,
    depth: usize,
}

/// Parses a Caddyfile; `env` answers `{$VAR}` (None: leave it as written).
pub fn parse(
    text: &str,
    file: &Path,
    loader: &mut dyn Loader,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Parsed, String> {
    let shown = file.display().to_string();
    let mut reader = Reader {
        loader,
        env,
        snippets: BTreeMap::new(),
        files: vec![shown.clone()],
        depth: 0,
    };
    let top = reader.top(text, file)?;
    let mut parsed = Parsed {
        files: reader.files,
        ..Parsed::default()
    };
    let global: Vec<Directive> = top
        .iter()
        .filter(|d| d.directive == "global")
        .flat_map(|d| d.children().to_vec())
        .collect();
    for s in top.iter().filter(|d| d.directive == "site") {
        parsed.sites.extend(sites(s, &global));
    }
    credentials(&top, &mut parsed);
    parsed.directives = top;
    Ok(parsed)
}

impl Reader<'_> {
    /// A whole file: global options, snippets, imports and site blocks.
    fn top(&mut self, text: &str, file: &Path) -> Result<Vec<Directive>, String> {
        let shown = file.display().to_string();
        let toks = tokens(text, &shown, self.env)?;
        let mut pos = 0;
        let mut out = Vec::new();
        let dir = file.parent().unwrap_or(Path::new("/")).to_path_buf();
        if toks.first().is_some_and(|t| t.text == "{" && !t.quoted) {
            pos = 1;
            let block = self.lines(&toks, &mut pos, &shown, &dir, 1, true)?;
            out.push(entry("global", Vec::new(), &shown, 1, Some(block)));
        }
        while pos < toks.len() {
            let line = toks[pos].line;
            let first = toks[pos].text.clone();
            if (first == "}" || first == "{") && !toks[pos].quoted {
                return Err(format!("{shown}:{line}: unexpected \"{first}\""));
            }
            if first.starts_with('(') && first.ends_with(')') && !toks[pos].quoted {
                pos += 1;
                expect_open(&toks, &mut pos, &shown, line)?;
                let block = self.lines(&toks, &mut pos, &shown, &dir, 1, true)?;
                self.snippets
                    .insert(first.trim_matches(['(', ')']).to_string(), block);
                continue;
            }
            if first == "import" {
                let words = line_words(&toks, &mut pos);
                out.extend(self.import(&words, &shown, line, &dir, 0, true)?);
                continue;
            }
            // Site addresses: one line, or several lines each ending with a comma.
            let mut addresses = Vec::new();
            loop {
                if pos >= toks.len() {
                    return Err(format!(
                        "{shown}:{line}: the site addresses end with a comma, and no address follows"
                    ));
                }
                let words = line_words(&toks, &mut pos);
                let continued = words.last().is_some_and(|w| w.text.ends_with(','));
                addresses.extend(
                    words
                        .iter()
                        .filter(|w| w.text != "{" || w.quoted)
                        .flat_map(|w| w.text.split(','))
                        .map(str::trim)
                        .filter(|a| !a.is_empty())
                        .map(String::from),
                );
                if words.last().is_some_and(|w| w.text == "{" && !w.quoted) {
                    let block = self.lines(&toks, &mut pos, &shown, &dir, 1, true)?;
                    out.push(entry("site", addresses, &shown, line, Some(block)));
                    break;
                }
                if !continued {
                    // One site without braces: the rest of the file is its block.
                    let block = self.lines(&toks, &mut pos, &shown, &dir, 1, false)?;
                    out.push(entry("site", addresses, &shown, line, Some(block)));
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The directives up to the end of the file, or (`nested`) up to the `}` that closes
    /// the block opened before `pos`.
    fn lines(
        &mut self,
        toks: &[Token],
        pos: &mut usize,
        file: &str,
        dir: &Path,
        depth: usize,
        nested: bool,
    ) -> Result<Vec<Directive>, String> {
        if depth > MAX_DEPTH {
            return Err(format!("{file}: blocks nested deeper than {MAX_DEPTH}"));
        }
        let mut out = Vec::new();
        while *pos < toks.len() {
            let t = &toks[*pos];
            if t.text == "}" && !t.quoted {
                *pos += 1;
                if !nested {
                    return Err(format!("{file}:{}: unexpected \"}}\"", t.line));
                }
                return Ok(out);
            }
            let line = t.line;
            let words = line_words(toks, pos);
            let opens = words.last().is_some_and(|w| w.text == "{" && !w.quoted);
            let words = &words[..words.len() - usize::from(opens)];
            let Some((name, args)) = words.split_first() else {
                return Err(format!("{file}:{line}: a block with no directive"));
            };
            let block = if opens {
                Some(self.lines(toks, pos, file, dir, depth + 1, true)?)
            } else {
                None
            };
            if name.text == "import" && block.is_none() {
                out.extend(self.import(words, file, line, dir, depth, false)?);
                continue;
            }
            let args = args.iter().map(|w| w.text.clone()).collect();
            out.push(entry(&name.text, args, file, line, block));
        }
        if nested {
            return Err(format!("{file}: unexpected end of file, expecting \"}}\""));
        }
        Ok(out)
    }

    /// `import snippet [args]` or `import path/glob`, spliced where it stands.
    fn import(
        &mut self,
        words: &[Token],
        file: &str,
        line: usize,
        dir: &Path,
        depth: usize,
        top: bool,
    ) -> Result<Vec<Directive>, String> {
        let Some(target) = words.get(1).map(|w| w.text.clone()) else {
            return Err(format!("{file}:{line}: import needs a snippet or a file"));
        };
        let args: Vec<String> = words.iter().skip(2).map(|w| w.text.clone()).collect();
        if let Some(snippet) = self.snippets.get(&target) {
            let mut out = snippet.clone();
            for d in &mut out {
                substitute_args(d, &args);
            }
            return Ok(out);
        }
        if self.depth >= MAX_INCLUDE_DEPTH {
            return Err(format!(
                "{file}:{line}: imports nested deeper than {MAX_INCLUDE_DEPTH}"
            ));
        }
        let pattern = dir.join(&target);
        let files = self
            .loader
            .load(&pattern)
            .map_err(|e| format!("{file}:{line}: import {target}: {e}"))?;
        let mut out = Vec::new();
        for (path, text) in files {
            if self.files.len() >= MAX_FILES {
                return Err(format!("more than {MAX_FILES} files imported"));
            }
            self.files.push(path.display().to_string());
            self.depth += 1;
            let read = if top {
                self.top(&text, &path)
            } else {
                let shown = path.display().to_string();
                let toks = tokens(&text, &shown, self.env)?;
                let pdir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
                self.lines(&toks, &mut 0, &shown, &pdir, depth + 1, false)
            };
            self.depth -= 1;
            out.extend(read?);
        }
        Ok(out)
    }
}

fn expect_open(toks: &[Token], pos: &mut usize, file: &str, line: usize) -> Result<(), String> {
    match toks.get(*pos) {
        Some(t) if t.text == "{" && !t.quoted => {
            *pos += 1;
            Ok(())
        }
        _ => Err(format!("{file}:{line}: a snippet needs a block in braces")),
    }
}

/// The tokens of the line at `pos`.
fn line_words(toks: &[Token], pos: &mut usize) -> Vec<Token> {
    let line = toks[*pos].line;
    let mut out = Vec::new();
    while *pos < toks.len() && toks[*pos].line == line {
        out.push(toks[*pos].clone());
        *pos += 1;
        if out.len() > 1 && out.last().is_some_and(|t| t.text == "{" && !t.quoted) {
            break;
        }
    }
    out
}

fn entry(
    name: &str,
    args: Vec<String>,
    file: &str,
    line: usize,
    block: Option<Vec<Directive>>,
) -> Directive {
    Directive {
        directive: name.to_string(),
        args,
        file: file.to_string(),
        line,
        block,
    }
}

fn substitute_args(d: &mut Directive, args: &[String]) {
    for a in &mut d.args {
        for (i, v) in args.iter().enumerate() {
            *a = a
                .replace(&format!("{{args[{i}]}}"), v)
                .replace(&format!("{{args.{i}}}"), v);
        }
    }
    if let Some(b) = &mut d.block {
        for c in b {
            substitute_args(c, args);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::proxy::NoIncludes;
    use super::*;

    fn p(text: &str) -> Parsed {
        parse(
            text,
            Path::new("/etc/caddy/Caddyfile"),
            &mut NoIncludes,
            &|_| None,
        )
        .unwrap()
    }

    #[test]
    fn sites_snippets_and_automatic_https() {
        let file = r#"{
	email ops@example.com
}
(secure) {
	header Strict-Transport-Security "max-age=31536000"
}
example.com, www.example.com {
	import secure
	rate_limit {
		zone api {
			key {remote_host}
			events 10
			window 1s
		}
	}
	reverse_proxy 127.0.0.1:8080
}
http://plain.example.com {
	respond "hi"
}
staging.example.com {
	tls internal
	reverse_proxy /api/* backend:9000 {
		header_up Authorization "Bearer sk-live-123"
	}
}
"#;
        let parsed = p(file);
        let s = &parsed.sites;
        assert_eq!(s.len(), 4);
        assert_eq!(s[0].names, ["example.com"]);
        assert!(s[0].https_redirect && !s[0].tls_internal);
        assert_eq!(s[0].listen.len(), 2);
        assert!(s[0].listen[0].tls && s[0].listen[0].port == 443);
        assert_eq!(
            s[0].headers["strict-transport-security"],
            "max-age=31536000"
        );
        assert_eq!(s[0].rate_limit, ["site"]);
        assert_eq!(s[0].upstreams, ["127.0.0.1:8080"]);
        assert_eq!(s[2].names, ["plain.example.com"]);
        assert!(!s[2].listen[0].tls && s[2].listen[0].port == 80 && !s[2].https_redirect);
        assert!(s[3].tls_internal);
        assert_eq!(s[3].upstreams, ["backend:9000"]);
        assert_eq!(parsed.credentials.len(), 1);
        assert!(parsed.secrets.iter().any(|x| x == "sk-live-123"));
    }

    #[test]
    fn one_site_without_braces_and_placeholders() {
        let env = |n: &str| (n == "DOMAIN").then(|| "app.example.com".to_string());
        let parsed = parse(
            "{$DOMAIN}\n\nreverse_proxy {$UPSTREAM:localhost:3000}\n",
            Path::new("/srv/Caddyfile"),
            &mut NoIncludes,
            &env,
        )
        .unwrap();
        assert_eq!(parsed.sites[0].names, ["app.example.com"]);
        assert_eq!(parsed.sites[0].upstreams, ["localhost:3000"]);
        let local = p("localhost:8443 {\n\trespond ok\n}\n:8080 {\n\trespond ok\n}\n");
        assert!(local.sites[0].tls_internal && local.sites[0].listen[0].tls);
        assert!(!local.sites[1].listen[0].tls && local.sites[1].names.is_empty());
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = parse(
            "a.com {\n\trespond ok\n",
            Path::new("/C"),
            &mut NoIncludes,
            &|_| None,
        )
        .unwrap_err();
        assert!(e.contains("expecting \"}\""), "{e}");
        let e = parse("a.com {\n}\n}\n", Path::new("/C"), &mut NoIncludes, &|_| {
            None
        })
        .unwrap_err();
        assert!(e.starts_with("/C:3:"), "{e}");
        // Found by the config fuzz target: a trailing comma at the end of the file.
        for text in [",", "a.com,", "a.com,\n"] {
            let e = parse(text, Path::new("/C"), &mut NoIncludes, &|_| None).unwrap_err();
            assert!(e.contains("comma"), "{text:?}: {e}");
        }
        let deep = format!("a.com {{\n{}", "x {\n".repeat(100));
        assert!(
            parse(&deep, Path::new("/C"), &mut NoIncludes, &|_| None)
                .unwrap_err()
                .contains("nested deeper")
        );
    }
}
