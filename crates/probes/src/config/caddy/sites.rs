//! What a Caddyfile serves, worked out as Caddy does: each address of a site block, with
//! automatic HTTPS (TLS for named sites, redirects unless `auto_https` says otherwise, the
//! internal CA for `tls internal`, `local_certs` and local names), headers, rate limits,
//! upstreams; and the credentials written into it.

use super::super::proxy::{Directive, Listen, Parsed, Site, credential_header, literal, tls_range};

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
pub(super) fn sites(block: &Directive, global: &[Directive]) -> Vec<Site> {
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
pub(super) fn credentials(top: &[Directive], parsed: &mut Parsed) {
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
        parsed.add_credential(d, name, vec![value]);
    }
}
