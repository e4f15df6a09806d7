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

use super::proxy::{
    Credential, Directive, Listen, Loader, MAX_DEPTH, MAX_FILES, MAX_INCLUDE_DEPTH, Parsed, Site,
    credential_header, literal, tls_range,
};

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
            let block = self.block(&toks, &mut pos, &shown, &dir, 1)?;
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
                let block = self.block(&toks, &mut pos, &shown, &dir, 1)?;
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
                    let block = self.block(&toks, &mut pos, &shown, &dir, 1)?;
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

    /// The directives up to the `}` that closes the block opened before `pos`.
    fn block(
        &mut self,
        toks: &[Token],
        pos: &mut usize,
        file: &str,
        dir: &Path,
        depth: usize,
    ) -> Result<Vec<Directive>, String> {
        self.lines(toks, pos, file, dir, depth, true)
    }

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
                Some(self.block(toks, pos, file, dir, depth + 1)?)
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

/// Caddy's view of an address: scheme, host, port.
fn address(a: &str) -> (Option<&str>, String, Option<u16>) {
    let (scheme, rest) = match a.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, a),
    };
    let hostport = rest.split('/').next().unwrap_or("");
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') => (h, p.parse().ok()),
        _ => (hostport, None),
    };
    (scheme, host.trim_matches(['[', ']']).to_string(), port)
}

/// Names Caddy serves with its internal CA rather than a public one.
fn local_name(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host.ends_with(".local")
        || host.ends_with(".internal")
        || host.parse::<std::net::IpAddr>().is_ok()
}

fn global_arg<'a>(global: &'a [Directive], name: &str) -> Option<&'a Directive> {
    global.iter().rfind(|d| d.directive == name)
}

/// One [`Site`] per address of a site block.
fn sites(block: &Directive, global: &[Directive]) -> Vec<Site> {
    let port_of = |name: &str, default: u16| {
        global_arg(global, name)
            .and_then(|d| d.arg(0)?.parse().ok())
            .unwrap_or(default)
    };
    let (http_port, https_port) = (port_of("http_port", 80), port_of("https_port", 443));
    let auto = global_arg(global, "auto_https").and_then(|d| d.arg(0).map(String::from));
    let local_certs = global_arg(global, "local_certs").is_some();
    let body = block.children();
    let tls_directive = body.iter().rfind(|d| d.directive == "tls");
    let mut out = Vec::new();
    for a in &block.args {
        let (scheme, host, port) = address(a);
        let port = port.unwrap_or(if scheme == Some("http") {
            http_port
        } else {
            https_port
        });
        let tls = match scheme {
            Some("https") => true,
            Some(_) => false,
            None => {
                port != http_port
                    && (!host.is_empty() || tls_directive.is_some())
                    && (auto.as_deref() != Some("off") || tls_directive.is_some())
            }
        };
        let mut site = Site {
            names: if host.is_empty() {
                Vec::new()
            } else {
                vec![host.clone()]
            },
            listen: vec![Listen {
                address: String::new(),
                port,
                tls,
                default_server: false,
            }],
            file: block.file.clone(),
            line: block.line,
            ..Site::default()
        };
        let redirects = tls
            && !host.is_empty()
            && !matches!(auto.as_deref(), Some("off" | "disable_redirects"));
        if redirects {
            site.https_redirect = true;
            site.listen.push(Listen {
                address: String::new(),
                port: http_port,
                tls: false,
                default_server: false,
            });
        }
        if tls {
            let explicit = tls_directive.and_then(|d| d.arg(0));
            site.tls_internal = explicit == Some("internal")
                || (explicit.is_none() && (local_certs || local_name(&host)));
            site.tls_certificate = match explicit {
                Some(c)
                    if c != "internal"
                        && !c.contains('@')
                        && tls_directive.is_some_and(|d| d.args.len() >= 2) =>
                {
                    Some(c.to_string())
                }
                _ => None,
            };
            site.tls_protocols = tls_directive
                .into_iter()
                .flat_map(Directive::children)
                .rfind(|d| d.directive == "protocols")
                .and_then(|d| {
                    let v = |s: &str| s.replace("tls", "TLSv");
                    Some(tls_range(&v(d.arg(0)?), d.arg(1).map(v).as_deref()))
                })
                // Caddy's documented default: TLS 1.2 and later.
                .or_else(|| Some(tls_range("TLSv1.2", None)));
        }
        site_directives(body, &mut site);
        out.push(site);
    }
    out
}

fn is_matcher(arg: &str) -> bool {
    arg.starts_with('@') || arg.starts_with('/') || arg == "*"
}

fn site_directives(body: &[Directive], site: &mut Site) {
    for h in body.iter().filter(|d| d.directive == "header") {
        let args: Vec<&str> = h
            .args
            .iter()
            .map(String::as_str)
            .skip_while(|a| is_matcher(a))
            .collect();
        if h.args.first().is_some_and(|a| is_matcher(a) && a != "*") {
            continue;
        }
        if let [name, value, ..] = args[..] {
            site.headers.insert(
                name.trim_start_matches(['+', '>', '?'])
                    .to_ascii_lowercase(),
                value.into(),
            );
        }
        for c in h.children() {
            if let Some(v) = c.arg(0) {
                site.headers.insert(
                    c.directive
                        .trim_start_matches(['+', '>', '?'])
                        .to_ascii_lowercase(),
                    v.into(),
                );
            }
        }
    }
    visit(body, &mut |d| match d.directive.as_str() {
        "rate_limit" if site.rate_limit.is_empty() => site.rate_limit.push("site".into()),
        "reverse_proxy" => {
            site.upstreams
                .extend(d.args.iter().skip_while(|a| is_matcher(a)).cloned());
            for to in d.children().iter().filter(|c| c.directive == "to") {
                site.upstreams.extend(to.args.iter().cloned());
            }
        }
        "redir" => {
            let target = d
                .args
                .iter()
                .find(|a| !is_matcher(a) || a.starts_with("https://"));
            if target.is_some_and(|t| t.starts_with("https://")) {
                site.https_redirect = true;
            }
        }
        _ => {}
    });
}

fn visit<'a>(block: &'a [Directive], f: &mut dyn FnMut(&'a Directive)) {
    for d in block {
        f(d);
        visit(d.children(), f);
    }
}

/// Literal credential headers (`header_up Authorization "Bearer ..."`); basic-auth hashes
/// are masked but are not a finding (a bcrypt hash is how Caddy is meant to hold them).
fn credentials(top: &[Directive], parsed: &mut Parsed) {
    let mut found = Vec::new();
    visit(top, &mut |d| {
        let header = matches!(
            d.directive.as_str(),
            "header_up" | "header_down" | "header" | "request_header"
        );
        let args: Vec<&str> = d
            .args
            .iter()
            .map(String::as_str)
            .skip_while(|a| is_matcher(a))
            .collect();
        if header
            && let [name, value, ..] = args[..]
            && credential_header(name)
            && literal(value)
        {
            found.push((d, name.to_string(), value.to_string()));
        }
        if matches!(d.directive.as_str(), "basicauth" | "basic_auth") {
            for user in d.children() {
                parsed.secrets.extend(user.args.iter().cloned());
            }
        }
    });
    for (d, name, value) in found {
        parsed.credentials.push(Credential {
            file: d.file.clone(),
            line: d.line,
            directive: d.directive.clone(),
            name,
        });
        if let Some((_, token)) = value.split_once(' ') {
            parsed.secrets.push(token.to_string());
        }
        parsed.secrets.push(value);
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
