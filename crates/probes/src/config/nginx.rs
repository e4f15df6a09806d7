//! nginx configuration as nginx reads it: directives ending in `;`, blocks in braces,
//! `#` comments, quoted arguments, `include` resolved (globs, relative paths from the folder
//! of `nginx.conf`), and `nginx -T` output read as the files it lists. Hand-written: no
//! maintained Rust crate parses nginx configuration (crossplane, the reference, is Python);
//! the tokenizer follows `ngx_conf_read_token`.

use std::path::{Path, PathBuf};

use super::proxy::{
    Directive, Listen, Loader, MAX_DEPTH, MAX_FILES, MAX_INCLUDE_DEPTH, Parsed, Site,
    credential_header, literal,
};

/// The marker `nginx -T` prints before each file.
const DUMP_MARKER: &str = "# configuration file ";

/// Whether `text` is `nginx -T` output.
pub fn is_dump(text: &str) -> bool {
    text.lines()
        .find(|l| !l.trim().is_empty() && !l.starts_with("nginx: "))
        .is_some_and(|l| l.starts_with(DUMP_MARKER))
}

/// The files of `nginx -T` output, in the order printed.
pub fn split_dump(text: &str) -> Vec<(PathBuf, String)> {
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(DUMP_MARKER)
            && let Some(path) = rest.strip_suffix(':')
        {
            files.push((PathBuf::from(path), String::new()));
            continue;
        }
        if let Some((_, body)) = files.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    files
}

/// Parses the configuration in `text` (the file `file`), resolving includes with `loader`.
pub fn parse(text: &str, file: &Path, loader: &mut dyn Loader) -> Result<Parsed, String> {
    let (root_text, root_file, mut dump);
    let loader: &mut dyn Loader = if is_dump(text) {
        let files = split_dump(text);
        let Some((first, body)) = files.first().cloned() else {
            return Err("`nginx -T` output with no configuration file".into());
        };
        (root_text, root_file) = (body, first);
        dump = super::proxy::DumpLoader(files);
        &mut dump
    } else {
        (root_text, root_file) = (text.to_string(), file.to_path_buf());
        loader
    };
    // Relative includes start at nginx's configuration prefix: the folder of nginx.conf.
    let prefix = root_file
        .ancestors()
        .skip(1)
        .find(|d| d.join("nginx.conf") == root_file || d.join("nginx.conf").is_file())
        .or(root_file.parent())
        .unwrap_or(Path::new("/"))
        .to_path_buf();
    let mut reader = Reader {
        loader,
        prefix,
        files: vec![root_file.display().to_string()],
        stack: vec![root_file.clone()],
    };
    let directives = reader.file(&root_text, &root_file.display().to_string(), 0)?;
    let mut parsed = Parsed {
        files: reader.files,
        ..Parsed::default()
    };
    sites(&directives, &mut parsed);
    credentials(&directives, &mut parsed);
    parsed.directives = directives;
    Ok(parsed)
}

struct Reader<'a> {
    loader: &'a mut dyn Loader,
    prefix: PathBuf,
    files: Vec<String>,
    stack: Vec<PathBuf>,
}

#[derive(Debug, PartialEq)]
enum Tok {
    Word(String),
    Semi,
    Open,
    Close,
}

fn tokens(text: &str, file: &str) -> Result<Vec<(Tok, usize)>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            c if c.is_whitespace() => {}
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                        break;
                    }
                }
            }
            ';' => out.push((Tok::Semi, line)),
            '{' => out.push((Tok::Open, line)),
            '}' => out.push((Tok::Close, line)),
            q @ ('"' | '\'') => {
                let start = line;
                let mut word = String::new();
                loop {
                    match chars.next() {
                        None => return Err(format!("{file}:{start}: unterminated quote")),
                        Some('\\') => match chars.next() {
                            Some(e @ ('"' | '\'' | '\\')) => word.push(e),
                            Some(e) => {
                                word.push('\\');
                                word.push(e);
                            }
                            None => {}
                        },
                        Some(c) if c == q => break,
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            word.push(c);
                        }
                    }
                }
                out.push((Tok::Word(word), start));
            }
            c => {
                let mut word = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || matches!(n, ';' | '{' | '}') {
                        // `${var}` is part of a word in nginx.
                        if n == '{' && word.ends_with('$') {
                            word.push(n);
                            chars.next();
                            continue;
                        }
                        if n == '}' && word.contains("${") && !word.ends_with('}') {
                            word.push(n);
                            chars.next();
                            continue;
                        }
                        break;
                    }
                    if n == '\\' {
                        chars.next();
                        if let Some(e) = chars.next() {
                            word.push(e);
                        }
                        continue;
                    }
                    word.push(n);
                    chars.next();
                }
                out.push((Tok::Word(word), line));
            }
        }
    }
    Ok(out)
}

impl Reader<'_> {
    fn file(&mut self, text: &str, file: &str, depth: usize) -> Result<Vec<Directive>, String> {
        let toks = tokens(text, file)?;
        let mut pos = 0;
        let out = self.block(&toks, &mut pos, file, depth, false)?;
        Ok(out)
    }

    fn block(
        &mut self,
        toks: &[(Tok, usize)],
        pos: &mut usize,
        file: &str,
        depth: usize,
        nested: bool,
    ) -> Result<Vec<Directive>, String> {
        if depth > MAX_DEPTH {
            let line = toks.get(*pos).map_or(0, |t| t.1);
            return Err(format!(
                "{file}:{line}: blocks nested deeper than {MAX_DEPTH}"
            ));
        }
        let mut out = Vec::new();
        let mut words: Vec<(String, usize)> = Vec::new();
        while let Some((tok, line)) = toks.get(*pos) {
            *pos += 1;
            match tok {
                Tok::Word(w) => words.push((w.clone(), *line)),
                Tok::Semi | Tok::Open => {
                    let Some(((name, at), args)) = words.split_first() else {
                        return Err(format!("{file}:{line}: unexpected \"{}\"", tok_text(tok)));
                    };
                    let mut d = Directive {
                        directive: name.clone(),
                        args: args.iter().map(|(a, _)| a.clone()).collect(),
                        file: file.to_string(),
                        line: *at,
                        block: None,
                    };
                    words.clear();
                    if *tok == Tok::Open {
                        d.block = Some(self.block(toks, pos, file, depth + 1, true)?);
                        out.push(d);
                    } else if d.directive == "include" && d.args.len() == 1 {
                        let included = self.include(&d, depth)?;
                        if included.is_empty() {
                            out.push(d);
                        }
                        out.extend(included);
                    } else {
                        out.push(d);
                    }
                }
                Tok::Close => {
                    if !words.is_empty() {
                        return Err(format!("{file}:{line}: unexpected \"}}\" (missing \";\"?)"));
                    }
                    if !nested {
                        return Err(format!("{file}:{line}: unexpected \"}}\""));
                    }
                    return Ok(out);
                }
            }
        }
        if let Some((w, line)) = words.first() {
            return Err(format!(
                "{file}:{line}: unexpected end of file after \"{w}\" (missing \";\"?)"
            ));
        }
        if nested {
            return Err(format!("{file}: unexpected end of file, expecting \"}}\""));
        }
        Ok(out)
    }

    /// The directives of the files an `include` names, spliced where it stands.
    fn include(&mut self, d: &Directive, depth: usize) -> Result<Vec<Directive>, String> {
        let arg = Path::new(&d.args[0]);
        let pattern = if arg.is_absolute() {
            arg.to_path_buf()
        } else {
            self.prefix.join(arg)
        };
        if self.stack.len() > MAX_INCLUDE_DEPTH {
            return Err(format!(
                "{}:{}: includes nested deeper than {MAX_INCLUDE_DEPTH}",
                d.file, d.line
            ));
        }
        let files = self
            .loader
            .load(&pattern)
            .map_err(|e| format!("{}:{}: include {}: {e}", d.file, d.line, d.args[0]))?;
        let mut out = Vec::new();
        for (path, text) in files {
            if self.stack.contains(&path) {
                return Err(format!(
                    "{}:{}: {} includes itself",
                    d.file,
                    d.line,
                    path.display()
                ));
            }
            if self.files.len() >= MAX_FILES {
                return Err(format!("more than {MAX_FILES} files included"));
            }
            let shown = path.display().to_string();
            self.files.push(shown.clone());
            self.stack.push(path);
            out.extend(self.file(&text, &shown, depth)?);
            self.stack.pop();
        }
        Ok(out)
    }
}

fn tok_text(t: &Tok) -> &str {
    match t {
        Tok::Semi => ";",
        Tok::Open => "{",
        Tok::Close => "}",
        Tok::Word(w) => w,
    }
}

/// Every `server` of every `http` block, with what it inherits from `http`.
fn sites(top: &[Directive], parsed: &mut Parsed) {
    for http in top.iter().filter(|d| d.directive == "http") {
        let upstreams: Vec<&Directive> = http
            .children()
            .iter()
            .filter(|d| d.directive == "upstream")
            .collect();
        for server in http.children().iter().filter(|d| d.directive == "server") {
            parsed.sites.push(site(http, server, &upstreams));
        }
    }
}

fn site(http: &Directive, server: &Directive, upstreams: &[&Directive]) -> Site {
    fn named<'a>(b: &'a Directive, name: &'a str) -> impl Iterator<Item = &'a Directive> {
        b.children().iter().filter(move |d| d.directive == name)
    }
    let own = |name: &'static str| named(server, name);
    let inherited = |name: &'static str| -> Option<&Directive> {
        own(name)
            .last()
            .or_else(|| http.children().iter().rfind(|d| d.directive == name))
    };
    let mut site = Site {
        names: own("server_name")
            .flat_map(|d| d.args.iter().cloned())
            .filter(|n| !n.is_empty() && n != "_")
            .collect(),
        file: server.file.clone(),
        line: server.line,
        ..Site::default()
    };
    for l in own("listen") {
        if let Some(listen) = listen(l) {
            site.listen.push(listen);
        }
    }
    if site.listen.is_empty() {
        site.listen.push(Listen {
            address: String::new(),
            port: 80,
            tls: false,
            default_server: false,
        });
    }
    // add_header: the server's own, or else those of `http` (nginx's inheritance).
    let header_source = if own("add_header").next().is_some() {
        server
    } else {
        http
    };
    for h in header_source
        .children()
        .iter()
        .filter(|d| d.directive == "add_header")
    {
        if let (Some(n), Some(v)) = (h.arg(0), h.arg(1)) {
            site.headers
                .insert(n.to_ascii_lowercase(), serde_json::Value::from(v));
        }
    }
    if http.children().iter().any(|d| d.directive == "limit_req") {
        site.rate_limit.push("http".into());
    }
    if own("limit_req").next().is_some() {
        site.rate_limit.push("server".into());
    }
    walk(
        server.children(),
        &mut |d, location| match d.directive.as_str() {
            "limit_req"
                if !location.is_empty() && !site.rate_limit.iter().any(|s| s == location) =>
            {
                site.rate_limit.push(location.to_string());
            }
            "proxy_pass" | "grpc_pass" | "fastcgi_pass" | "uwsgi_pass" | "scgi_pass" => {
                if let Some(target) = d.arg(0) {
                    site.upstreams.extend(resolve_upstream(target, upstreams));
                }
            }
            "return" if location.is_empty() || location == "/" => {
                let code = d.arg(0).and_then(|c| c.parse::<u16>().ok());
                if matches!(code, Some(301 | 302 | 303 | 307 | 308))
                    && d.arg(1).is_some_and(|u| u.starts_with("https://"))
                {
                    site.https_redirect = true;
                }
            }
            "rewrite"
                if (location.is_empty() || location == "/")
                    && d.arg(1).is_some_and(|u| u.starts_with("https://")) =>
            {
                site.https_redirect = true;
            }
            _ => {}
        },
    );
    site.tls_protocols = inherited("ssl_protocols").map(|d| d.args.clone());
    site.tls_certificate = inherited("ssl_certificate").and_then(|d| d.arg(0).map(String::from));
    site
}

/// Visits every directive under `block`, with the path of the location it is in (`""`
/// outside any). `if` blocks belong to the location around them.
fn walk<'a>(block: &'a [Directive], f: &mut dyn FnMut(&'a Directive, &str)) {
    fn go<'a>(block: &'a [Directive], location: &str, f: &mut dyn FnMut(&'a Directive, &str)) {
        for d in block {
            f(d, location);
            if let Some(inner) = &d.block {
                let loc = if d.directive == "location" {
                    d.args.last().map(String::as_str).unwrap_or("")
                } else {
                    location
                };
                go(inner, loc, f);
            }
        }
    }
    go(block, "", f);
}

/// `listen 443 ssl`, `listen [::]:443 ssl`, `listen 127.0.0.1:80`; unix sockets skipped.
fn listen(d: &Directive) -> Option<Listen> {
    let spec = d.arg(0)?;
    if spec.starts_with("unix:") {
        return None;
    }
    let (address, port) = match spec.rsplit_once(':') {
        Some((a, p)) if !a.ends_with(':') || a.starts_with('[') => (a.to_string(), p),
        _ if spec.chars().all(|c| c.is_ascii_digit()) => (String::new(), spec),
        _ => (spec.to_string(), "80"),
    };
    let tls = d.args.iter().skip(1).any(|a| a == "ssl" || a == "quic");
    let default_server = d
        .args
        .iter()
        .skip(1)
        .any(|a| a == "default_server" || a == "default");
    Some(Listen {
        address: address.trim_matches(['[', ']']).to_string(),
        port: port.parse().ok()?,
        tls,
        default_server,
    })
}

/// `http://backend/x` → the `server`s of `upstream backend`, else the URL itself.
fn resolve_upstream(target: &str, upstreams: &[&Directive]) -> Vec<String> {
    let host = target
        .split_once("://")
        .map_or(target, |(_, r)| r)
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    match upstreams.iter().find(|u| u.arg(0) == Some(host)) {
        Some(u) => u
            .children()
            .iter()
            .filter(|d| d.directive == "server")
            .filter_map(|d| d.arg(0).map(String::from))
            .collect(),
        None => vec![target.to_string()],
    }
}

/// Credentials written into the config: literal header values (`proxy_set_header
/// Authorization "Bearer ..."`), secret-named `set` variables, and the keys of a `map` over
/// a credential header (`map $http_authorization $ok { "Bearer ..." 1; }`).
fn credentials(top: &[Directive], parsed: &mut Parsed) {
    let mut found = Vec::new();
    walk(top, &mut |d, _| {
        let header_directive = matches!(
            d.directive.as_str(),
            "proxy_set_header" | "grpc_set_header" | "add_header" | "more_set_headers"
        );
        if header_directive
            && let (Some(n), Some(v)) = (d.arg(0), d.arg(1))
            && credential_header(n)
            && literal(v)
        {
            found.push((d, n.to_string(), vec![v.to_string()]));
        }
        if d.directive == "set"
            && let (Some(n), Some(v)) = (d.arg(0), d.arg(1))
            && crate::looks_secret(n)
            && literal(v)
        {
            found.push((d, n.to_string(), vec![v.to_string()]));
        }
        if d.directive == "map"
            && let Some(src) = d.arg(0)
            && (src.starts_with("$http_") || src.starts_with("$cookie_"))
            && credential_header(&src.trim_start_matches("$http_").replace('_', "-"))
        {
            let keys: Vec<String> = d
                .children()
                .iter()
                .filter(|e| !matches!(e.directive.as_str(), "default" | "hostnames" | "volatile"))
                .map(|e| e.directive.clone())
                .filter(|k| literal(k))
                .collect();
            if !keys.is_empty() {
                found.push((d, src.to_string(), keys));
            }
        }
    });
    for (d, name, values) in found {
        parsed.add_credential(d, name, values);
    }
}

#[cfg(test)]
mod tests {
    use super::super::proxy::NoIncludes;
    use super::*;

    fn p(text: &str) -> Parsed {
        parse(text, Path::new("/etc/nginx/nginx.conf"), &mut NoIncludes).unwrap()
    }

    #[test]
    fn sites_with_inheritance_redirects_limits_and_upstreams() {
        let conf = r#"
http {
  add_header X-Frame-Options DENY;
  upstream app { server 127.0.0.1:8080; server 127.0.0.1:8081; }
  server { listen 80; server_name example.com www.example.com; return 301 https://$host$request_uri; }
  server {
    listen 443 ssl; listen [::]:443 ssl;
    server_name example.com;
    ssl_protocols TLSv1.2 TLSv1.3;
    location /api/ { limit_req zone=api; proxy_pass http://app; }
    location / { proxy_pass http://127.0.0.1:9000; }
  }
  server { listen 127.0.0.1:8443 ssl; add_header Strict-Transport-Security "max-age=1"; }
}"#;
        let s = p(conf).sites;
        assert_eq!(s.len(), 3);
        assert!(s[0].https_redirect);
        assert_eq!(s[0].names, ["example.com", "www.example.com"]);
        assert_eq!(s[1].listen.len(), 2);
        assert!(s[1].listen.iter().all(|l| l.tls && l.port == 443));
        assert_eq!(s[1].listen[1].address, "::");
        assert_eq!(s[1].rate_limit, ["/api/"]);
        assert_eq!(
            s[1].upstreams,
            ["127.0.0.1:8080", "127.0.0.1:8081", "http://127.0.0.1:9000"]
        );
        assert!(s[1].headers.contains_key("x-frame-options"), "inherited");
        assert!(
            !s[2].headers.contains_key("x-frame-options"),
            "own add_header replaces http's"
        );
        assert_eq!(s[2].listen[0].address, "127.0.0.1");
        assert!(s[2].names.is_empty());
    }

    #[test]
    fn credentials_are_found_and_kept_for_masking() {
        let conf = "http { map $http_authorization $ok { \"Bearer s3cr3t-value\" 1; default 0; }\n server { location / { proxy_set_header Authorization \"Basic dXNlcjpwYXNz\"; proxy_set_header Host $host; } } }";
        let parsed = p(conf);
        let names: Vec<&str> = parsed.credentials.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["$http_authorization", "Authorization"]);
        assert!(parsed.secrets.iter().any(|s| s == "s3cr3t-value"));
        assert!(parsed.secrets.iter().any(|s| s == "Basic dXNlcjpwYXNz"));
        let shown = serde_json::to_string(&parsed.credentials).unwrap();
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = parse(
            "http {\n server {\n listen 80\n }\n}",
            Path::new("/x.conf"),
            &mut NoIncludes,
        )
        .unwrap_err();
        assert_eq!(e, "/x.conf:4: unexpected \"}\" (missing \";\"?)");
        let e = parse("http {\n", Path::new("/x.conf"), &mut NoIncludes).unwrap_err();
        assert!(e.contains("expecting \"}\""), "{e}");
        let deep = "a {".repeat(200);
        assert!(
            parse(&deep, Path::new("/x"), &mut NoIncludes)
                .unwrap_err()
                .contains("nested deeper")
        );
    }

    #[test]
    fn dump_is_read_as_its_files() {
        let dump = "# configuration file /etc/nginx/nginx.conf:\nhttp { include /etc/nginx/sites-enabled/*; }\n\n# configuration file /etc/nginx/sites-enabled/app:\nserver { listen 443 ssl; server_name app.example.com; }\n";
        let parsed = parse(dump, Path::new("dump.txt"), &mut NoIncludes).unwrap();
        assert_eq!(
            parsed.files,
            ["/etc/nginx/nginx.conf", "/etc/nginx/sites-enabled/app"]
        );
        assert_eq!(parsed.sites[0].names, ["app.example.com"]);
        assert_eq!(parsed.sites[0].file, "/etc/nginx/sites-enabled/app");
    }
}
