//! Reverse-proxy configuration read as the proxy reads it: nginx's files (and `nginx -T`
//! output from the real nginx), and Caddyfiles compared with what `caddy adapt` makes of
//! them. The web-service pack's `proxy.*` items judge both.

use crate::common::*;
use serde_json::{Value, json};
use shipcheck_probes::config::{caddy, nginx, proxy};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

fn here() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `nginx -T` of a configuration, as the real nginx prints it.
fn nginx_dump(prefix: &Path, conf: &Path) -> String {
    let out = Command::new("nginx")
        .arg("-T")
        .arg("-p")
        .arg(prefix)
        .arg("-c")
        .arg(conf)
        .arg("-e")
        .arg(prefix.join("error.log"))
        .output()
        .expect("nginx is installed (scripts/install-test-deps.sh)");
    assert!(
        out.status.success(),
        "nginx -T: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn sites_json(p: &proxy::Parsed) -> Value {
    serde_json::to_value(&p.sites).unwrap()
}

/// A layout unlike the test nginx's single file: relative includes from the prefix,
/// `sites-enabled/*`, a TLS snippet, wildcard and default servers, `http`-level headers.
#[test]
fn nginx_includes_read_as_nginx_dumps_them() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for sub in ["sites-enabled", "snippets", "tmp"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    let leaf = pki::self_signed("relay", &["relay.example.com"], -1, 30, false);
    let (cert, key) = (d.join("leaf.pem"), d.join("leaf.key"));
    std::fs::write(&cert, &leaf.pem).unwrap();
    std::fs::write(&key, leaf.key.serialize_pem()).unwrap();
    std::fs::write(
        d.join("nginx.conf"),
        format!(
            "pid {0}/nginx.pid;\nevents {{}}\nhttp {{\n  client_body_temp_path {0}/tmp;\n  add_header X-Content-Type-Options nosniff;\n  limit_req_zone $binary_remote_addr zone=api:1m rate=5r/s;\n  upstream relay {{ server 127.0.0.1:7330; }}\n  include sites-enabled/*;\n}}\n",
            d.display()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("snippets/tls.conf"),
        format!(
            "ssl_certificate {};\nssl_certificate_key {};\nssl_protocols TLSv1.2 TLSv1.3;\n",
            cert.display(),
            key.display()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("sites-enabled/relay"),
        "server {\n  listen 127.0.0.1:18443 ssl default_server;\n  server_name relay.example.com *.relay.example.com;\n  include snippets/tls.conf;\n  location /ws { limit_req zone=api; proxy_pass http://relay; }\n}\nserver {\n  listen 127.0.0.1:18080;\n  server_name relay.example.com;\n  return 308 https://$host$request_uri;\n}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("sites-enabled/old"),
        "server {\n  listen 127.0.0.1:18443 ssl;\n  server_name legacy.example.com;\n  include snippets/tls.conf;\n  ssl_protocols TLSv1 TLSv1.2;\n  add_header X-Frame-Options DENY;\n}\n",
    )
    .unwrap();
    let conf = d.join("nginx.conf");
    let dump = nginx_dump(d, &conf);
    let from_dump = nginx::parse(&dump, Path::new("dump.txt"), &mut proxy::NoIncludes).unwrap();
    let text = std::fs::read_to_string(&conf).unwrap();
    let from_disk = nginx::parse(&text, &conf, &mut proxy::DiskLoader).unwrap();
    assert_eq!(
        sites_json(&from_dump),
        sites_json(&from_disk),
        "the dump and the files read the same"
    );
    assert_eq!(from_disk.files.len(), 5, "{:?}", from_disk.files);
    let sites = &from_disk.sites;
    assert_eq!(sites.len(), 3, "{sites:#?}");
    let old = &sites[0];
    let relay = &sites[1];
    assert_eq!(
        old.names,
        ["legacy.example.com"],
        "sites-enabled/* in name order"
    );
    assert_eq!(relay.names, ["relay.example.com", "*.relay.example.com"]);
    assert!(relay.listen[0].default_server && relay.listen[0].tls);
    assert_eq!(relay.upstreams, ["127.0.0.1:7330"]);
    assert_eq!(relay.rate_limit, ["/ws"]);
    assert_eq!(
        relay.tls_protocols.as_deref(),
        Some(&["TLSv1.2".to_string(), "TLSv1.3".to_string()][..])
    );
    assert!(relay.headers.contains_key("x-content-type-options"));
    assert!(!old.headers.contains_key("x-content-type-options"));
    assert!(sites[2].https_redirect);
    let doc = from_disk.into_value("nginx");
    let name = |h: &str, p: u16| proxy::resolve(&doc, h, p).map(|s| s["names"][0].clone());
    assert_eq!(
        name("a.relay.example.com", 18443),
        Some(json!("relay.example.com"))
    );
    assert_eq!(
        name("unknown.example.net", 18443),
        Some(json!("relay.example.com")),
        "default_server"
    );
    assert_eq!(
        name("legacy.example.com", 18443),
        Some(json!("legacy.example.com"))
    );
}

/// Per host, what `caddy adapt` says Caddy will do.
#[derive(Debug, Default, PartialEq)]
struct Served {
    port: u16,
    upstreams: BTreeSet<String>,
    headers: BTreeSet<String>,
    internal: bool,
    redirect: bool,
}

fn collect(v: &Value, key: &str, out: &mut Vec<Value>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == key {
                    out.push(x.clone());
                }
                collect(x, key, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect(x, key, out)),
        _ => {}
    }
}

fn caddy_adapt(file: &Path) -> BTreeMap<String, Served> {
    let out = Command::new("caddy")
        .args(["adapt", "--adapter", "caddyfile", "--config"])
        .arg(file)
        .output()
        .expect("caddy is installed (scripts/install-test-deps.sh)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut internal = BTreeSet::new();
    for p in v["apps"]["tls"]["automation"]["policies"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if p["issuers"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|i| i["module"] == "internal")
        {
            internal.extend(
                p["subjects"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_str().map(String::from)),
            );
        }
    }
    let mut served = BTreeMap::new();
    for srv in v["apps"]["http"]["servers"].as_object().unwrap().values() {
        let port: u16 = srv["listen"][0]
            .as_str()
            .unwrap()
            .trim_start_matches(':')
            .parse()
            .unwrap();
        let redirect = port != 80 && srv["automatic_https"]["disable_redirects"] != true;
        for route in srv["routes"].as_array().unwrap() {
            let mut dials = Vec::new();
            collect(&route["handle"], "dial", &mut dials);
            let mut sets = Vec::new();
            collect(&route["handle"], "response", &mut sets);
            let headers: BTreeSet<String> = sets
                .iter()
                .filter_map(|r| r["set"].as_object())
                .flat_map(|m| m.keys().map(|k| k.to_ascii_lowercase()))
                .collect();
            for host in route["match"][0]["host"].as_array().into_iter().flatten() {
                let host = host.as_str().unwrap().to_string();
                served.insert(
                    host.clone(),
                    Served {
                        port,
                        upstreams: dials
                            .iter()
                            .filter_map(|d| d.as_str().map(String::from))
                            .collect(),
                        headers: headers.clone(),
                        internal: internal.contains(&host),
                        redirect,
                    },
                );
            }
        }
    }
    served
}

#[test]
fn caddyfiles_read_as_caddy_adapts_them() {
    let dir = here().join("tests/fixtures/proxy");
    for name in ["caddy/Caddyfile", "caddy-single/Caddyfile"] {
        let file = dir.join(name);
        let expected = caddy_adapt(&file);
        assert!(!expected.is_empty(), "{expected:?}");
        let text = std::fs::read_to_string(&file).unwrap();
        let parsed = caddy::parse(&text, &file, &mut proxy::DiskLoader, &|_| None).unwrap();
        let mut ours = BTreeMap::new();
        for s in &parsed.sites {
            ours.insert(
                s.names[0].clone(),
                Served {
                    port: s.listen[0].port,
                    upstreams: s.upstreams.iter().cloned().collect(),
                    headers: s.headers.keys().cloned().collect(),
                    internal: s.tls_internal,
                    redirect: s.https_redirect,
                },
            );
        }
        assert_eq!(ours, expected, "{name}");
    }
}

/// The web-service pack's proxy items over the real test nginx's configuration: the
/// modern site passes, the legacy one fails each item, and the bearer token the config
/// holds (a `map` over `$http_authorization`) is reported without being shown.
#[test]
fn proxy_items_judge_nginx_and_caddy() {
    let ngx = Nginx::start();
    let tmp = tempfile::tempdir().unwrap();
    let dump = nginx_dump(ngx.dir.path(), &ngx.dir.path().join("nginx.conf"));
    std::fs::write(tmp.path().join("nginx-T.txt"), &dump).unwrap();
    let caddy = here().join("tests/fixtures/proxy/caddy/Caddyfile");
    std::fs::write(
        tmp.path().join("other.conf"),
        "http { server { listen 8080; server_name other; } }\n",
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("shipcheck.yaml"),
        format!(
            "packs: [web-service]\nvars: {{host: localhost, ca_file: '{}', proxy_config: nginx-T.txt}}\nenvironments:\n  modern: {{vars: {{port: {}, http_port: {}}}}}\n  legacy: {{vars: {{port: {}, http_port: {}}}}}\n  caddy-relay: {{vars: {{host: relay.example.com, port: 443, http_port: 80, proxy_config: '{}'}}}}\n  caddy-api: {{vars: {{host: api.example.com, port: 443, http_port: 80, proxy_config: '{}'}}}}\n  nosite: {{vars: {{port: {}, proxy_config: other.conf}}}}\n",
            ngx.ca(),
            ngx.https,
            ngx.http,
            ngx.legacy,
            ngx.legacy_http,
            caddy.display(),
            caddy.display(),
            ngx.https,
        ),
    )
    .unwrap();
    let proxy_items = |env: &str| -> (BTreeMap<String, String>, String) {
        let out = shipcheck(
            tmp.path(),
            &["check", "--env", env, "--format", "json", "--no-record"],
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let s = statuses(&json(&out))
            .into_iter()
            .filter(|(id, _)| id.starts_with("proxy."))
            .collect();
        (s, text)
    };
    let expect = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| (format!("proxy.{a}"), b.to_string()))
            .collect()
    };
    let (modern, text) = proxy_items("modern");
    assert_eq!(
        modern,
        expect(&[
            ("site", "pass"),
            ("redirect", "pass"),
            ("tls-protocols", "pass"),
            ("public-certificate", "pass"),
            ("hsts", "pass"),
            ("rate-limit", "pass"),
            ("no-credentials", "fail"),
        ])
    );
    assert!(
        text.contains("$http_authorization"),
        "the finding names the map"
    );
    assert!(
        !text.contains("good-test-token"),
        "the token is never shown"
    );
    let (legacy, text) = proxy_items("legacy");
    assert_eq!(
        legacy,
        expect(&[
            ("site", "pass"),
            ("redirect", "fail"),
            ("tls-protocols", "fail"),
            ("public-certificate", "pass"),
            ("hsts", "fail"),
            ("rate-limit", "fail"),
            ("no-credentials", "fail"),
        ])
    );
    assert!(!text.contains("good-test-token"));
    // Caddy: the relay redirects only if auto_https allows it (it does not here); the API
    // is served with the internal CA.
    let (relay, text) = proxy_items("caddy-relay");
    assert_eq!(relay["proxy.redirect"], "fail");
    assert_eq!(relay["proxy.public-certificate"], "pass");
    assert_eq!(relay["proxy.tls-protocols"], "pass");
    assert_eq!(relay["proxy.hsts"], "pass");
    assert_eq!(relay["proxy.no-credentials"], "fail");
    assert!(!text.contains("CANARY"), "{text}");
    let (api, _) = proxy_items("caddy-api");
    assert_eq!(api["proxy.public-certificate"], "fail");
    // No site for the host on that port is a failure that says so.
    let (nosite, text) = proxy_items("nosite");
    assert_eq!(nosite["proxy.site"], "fail");
    assert!(text.contains("serves localhost:"), "{text}");
}
