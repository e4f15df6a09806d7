//! The TLS and HTTP zoo: one real nginx (Debian's, OpenSSL 3) with a vhost per defect it
//! can serve, each on its own loopback port, and a sound vhost to compare with. Used by
//! the integration tests (which assert each vhost's exact finding set) and by
//! `bench/zoo.sh` (which times a full audit of it next to sslyze and testssl.sh).
//!
//! Certificates: a private RSA CA (its key made by `openssl`, so it can sign SHA-1 too),
//! leaves made by rcgen (dates, names, serials, usages), and by `openssl x509` where rcgen
//! cannot (an RSA-1024 key, a SHA-1 signature). One OCSP response made by `openssl ocsp`
//! is stapled from a file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use rcgen::{
    CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SerialNumber,
};

use crate::pki::days;

/// A TLS vhost: name, certificate files' stem, nginx directives.
struct TlsHost {
    name: &'static str,
    cert: &'static str,
    directives: &'static str,
}

const AEAD: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384";

/// The TLS vhosts. Each directive list is laid over the zoo's defaults (TLS 1.2/1.3, AEAD
/// suites only, the server's order, a session cache).
#[rustfmt::skip]
const TLS_HOSTS: &[TlsHost] = &[
    TlsHost { name: "modern", cert: "leaf", directives: "" },
    TlsHost { name: "tls10", cert: "leaf", directives: "ssl_protocols TLSv1 TLSv1.2; ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA:@SECLEVEL=0;" },
    TlsHost { name: "tls11", cert: "leaf", directives: "ssl_protocols TLSv1.1 TLSv1.2; ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA:@SECLEVEL=0;" },
    TlsHost { name: "legacy-only", cert: "leaf", directives: "ssl_protocols TLSv1 TLSv1.1; ssl_ciphers ECDHE-RSA-AES128-SHA:@SECLEVEL=0;" },
    TlsHost { name: "null", cert: "leaf", directives: "ssl_protocols TLSv1.2; ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:NULL-SHA256:@SECLEVEL=0;" },
    TlsHost { name: "anon", cert: "leaf", directives: "ssl_protocols TLSv1.2; ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:AECDH-AES128-SHA:@SECLEVEL=0;" },
    TlsHost { name: "client-order", cert: "leaf", directives: "ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA; ssl_prefer_server_ciphers off;" },
    TlsHost { name: "dh1024", cert: "leaf", directives: "ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0; ssl_dhparam DIR/dh1024.pem;" },
    TlsHost { name: "weak-group", cert: "leaf", directives: "ssl_ecdh_curve secp224r1:prime256v1; ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0;" },
    TlsHost { name: "ccm8", cert: "leaf", directives: "ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_8_SHA256;" },
    TlsHost { name: "no-resumption", cert: "leaf", directives: "ssl_session_cache off; ssl_session_tickets off;" },
    TlsHost { name: "expired", cert: "expired", directives: "" },
    TlsHost { name: "not-yet-valid", cert: "future", directives: "" },
    TlsHost { name: "expiring", cert: "expiring", directives: "" },
    TlsHost { name: "wrong-host", cert: "wrong-host", directives: "" },
    TlsHost { name: "self-signed", cert: "self-signed", directives: "" },
    TlsHost { name: "other-ca", cert: "other-ca", directives: "" },
    TlsHost { name: "no-intermediate", cert: "below-intermediate", directives: "" },
    TlsHost { name: "weak-key", cert: "weak-key", directives: "ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0;" },
    TlsHost { name: "sha1", cert: "sha1", directives: "ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0;" },
    TlsHost { name: "client-only-usage", cert: "client-usage", directives: "" },
    TlsHost { name: "short-serial", cert: "short-serial", directives: "" },
    TlsHost { name: "ocsp-unstapled", cert: "ocsp", directives: "" },
    TlsHost { name: "with-sct", cert: "sct", directives: "" },
    TlsHost { name: "ocsp-stapled", cert: "ocsp", directives: "ssl_stapling on; ssl_stapling_file DIR/ocsp.der;" },
];

/// The HTTP vhosts (TLS as `modern`): name, body of the server block.
const HTTP_HOSTS: &[(&str, &str)] = &[
    ("http-good", "GOOD_HEADERS GOOD_LOCATIONS"),
    ("http-bare", "GOOD_LOCATIONS"),
    (
        "http-short-hsts",
        "add_header Strict-Transport-Security \"max-age=300\" always; add_header X-Frame-Options DENY always; add_header X-Content-Type-Options nosniff always; GOOD_LOCATIONS",
    ),
    // The application and the proxy both send HSTS: two headers, which browsers need not
    // honour.
    (
        "http-double-hsts",
        "GOOD_HEADERS add_header Strict-Transport-Security \"max-age=63072000\" always; GOOD_LOCATIONS",
    ),
    // ALLOW-FROM, which browsers ignore: the page can be framed.
    (
        "http-allow-from",
        "add_header Strict-Transport-Security \"max-age=63072000; includeSubDomains\" always; add_header X-Frame-Options \"ALLOW-FROM https://partner.example\" always; add_header X-Content-Type-Options nosniff always; GOOD_LOCATIONS",
    ),
    (
        "http-cors",
        "GOOD_HEADERS add_header Access-Control-Allow-Origin $http_origin always; add_header Access-Control-Allow-Credentials true always; GOOD_LOCATIONS",
    ),
    (
        "http-open",
        "GOOD_HEADERS location = /health { default_type application/json; return 503 '{\"status\":\"down\"}'; } location /api/ { default_type application/json; return 200 '{\"data\":1}'; } location = /limited { root DIR/www; } location / { return 200 \"open\\n\"; }",
    ),
    (
        "http-token-refused",
        "GOOD_HEADERS location = /health { default_type application/json; return 200 '{\"status\":\"ok\"}'; } location /api/ { return 401; } location = /limited { limit_req zone=burst burst=5 nodelay; limit_req_status 429; root DIR/www; } location / { return 200 \"hello\\n\"; }",
    ),
];

const GOOD_HEADERS: &str = "add_header Strict-Transport-Security \"max-age=63072000; includeSubDomains\" always; add_header X-Frame-Options DENY always; add_header X-Content-Type-Options nosniff always;";
const GOOD_LOCATIONS: &str = "location = /health { default_type application/json; return 200 '{\"status\":\"ok\"}'; } location /api/ { if ($auth_ok = 0) { return 401; } default_type application/json; return 200 '{\"data\":1}'; } location = /limited { limit_req zone=burst burst=5 nodelay; limit_req_status 429; root DIR/www; } location / { return 200 \"hello\\n\"; }";

/// The bearer token the zoo's APIs accept, and the variable its targets file reads it from.
pub const TOKEN: &str = "zoo-token-0123456789abcdef";
pub const TOKEN_ENV: &str = "ZOO_TOKEN";

/// A running zoo; nginx stops when dropped.
pub struct Zoo {
    pub dir: PathBuf,
    /// TLS vhost name → port.
    pub tls: Vec<(&'static str, u16)>,
    /// HTTP vhost name → HTTPS port, and the plain HTTP port its redirect check uses.
    pub http: Vec<(&'static str, u16, u16)>,
}

impl Zoo {
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// A `--targets` file (YAML) for `shipcheck probe tls`: every TLS and HTTP vhost.
    pub fn tls_targets(&self) -> String {
        let mut out = String::new();
        let all = self
            .tls
            .iter()
            .copied()
            .chain(self.http.iter().map(|(n, p, _)| (*n, *p)));
        for (name, port) in all {
            let _ = writeln!(out, "- target: localhost:{port}  # {name}\n  ca: ca.pem");
        }
        out
    }

    /// A `--targets` file (YAML) for `shipcheck probe http`: the HTTP vhosts with their
    /// auth path, health path, burst, and plain HTTP port.
    pub fn http_targets(&self) -> String {
        let mut out = String::new();
        for (name, port, plain) in &self.http {
            let _ = writeln!(
                out,
                "- target: https://localhost:{port}/  # {name}\n  ca: ca.pem\n  http_port: {plain}\n  auth_path: /api/users\n  token_env: {TOKEN_ENV}\n  health: /health\n  burst: 20\n  burst_path: /limited"
            );
        }
        out
    }
}

impl Drop for Zoo {
    fn drop(&mut self) {
        let _ = nginx(&self.dir, &["-s", "stop"]);
    }
}

fn run(dir: &Path, program: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("{program}: {e} (run scripts/install-test-deps.sh)"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn nginx(dir: &Path, extra: &[&str]) -> Result<(), String> {
    let conf = dir.join("nginx.conf").display().to_string();
    let prefix = dir.display().to_string();
    let err = dir.join("error.log").display().to_string();
    let mut args = vec!["-p", &prefix, "-c", &conf, "-e", &err];
    args.extend_from_slice(extra);
    run(dir, "nginx", &args)
}

fn write(dir: &Path, name: &str, text: &str) -> Result<(), String> {
    std::fs::write(dir.join(name), text).map_err(|e| format!("{name}: {e}"))
}

/// Loopback ports nobody listens on (bound, then released).
fn ports(n: usize) -> Vec<u16> {
    let held: Vec<std::net::TcpListener> = (0..n)
        .filter_map(|_| std::net::TcpListener::bind("127.0.0.1:0").ok())
        .collect();
    held.iter()
        .filter_map(|l| l.local_addr().ok().map(|a| a.port()))
        .collect()
}

/// Builds the certificates and configuration in `dir` and starts nginx.
pub fn start(dir: &Path) -> Result<Zoo, String> {
    certificates(dir)?;
    let n = TLS_HOSTS.len() + 3 * HTTP_HOSTS.len();
    // The ports are free when chosen, but another test may take one before nginx binds it:
    // then choose again.
    let mut attempt = 0;
    loop {
        let ports = ports(n);
        if ports.len() != n {
            return Err("not enough free loopback ports".into());
        }
        match start_on(dir, &ports) {
            Err(e) if e.contains("Address already in use") && attempt < 4 => attempt += 1,
            started => return started,
        }
    }
}

/// Writes the configuration for `ports` and starts nginx.
fn start_on(dir: &Path, ports: &[u16]) -> Result<Zoo, String> {
    let d = dir.display().to_string();
    std::fs::create_dir_all(dir.join("tmp")).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(dir.join("www")).map_err(|e| e.to_string())?;
    write(&dir.join("www"), "limited", "ok\n")?;
    let mut servers = String::new();
    let mut zoo = Zoo {
        dir: dir.to_path_buf(),
        tls: Vec::new(),
        http: Vec::new(),
    };
    for (host, port) in TLS_HOSTS.iter().zip(ports) {
        let _ = writeln!(
            servers,
            "  server {{ listen 127.0.0.1:{port} ssl; server_name localhost; ssl_certificate {d}/{c}.pem; ssl_certificate_key {d}/{c}.key; {dir} {GOOD_HEADERS} location / {{ return 200 \"{name}\\n\"; }} }}",
            c = host.cert,
            dir = host.directives.replace("DIR", &d),
            name = host.name,
        );
        zoo.tls.push((host.name, *port));
    }
    let rest = &ports[TLS_HOSTS.len()..];
    for (i, (name, body)) in HTTP_HOSTS.iter().enumerate() {
        let (https, redirect, content) = (rest[3 * i], rest[3 * i + 1], rest[3 * i + 2]);
        let body = body
            .replace("GOOD_HEADERS", GOOD_HEADERS)
            .replace("GOOD_LOCATIONS", GOOD_LOCATIONS)
            .replace("DIR", &d);
        let _ = writeln!(
            servers,
            "  server {{ listen 127.0.0.1:{https} ssl; server_name localhost; ssl_certificate {d}/leaf.pem; ssl_certificate_key {d}/leaf.key; {body} }}\n  server {{ listen 127.0.0.1:{redirect}; return 301 https://localhost:{https}$request_uri; }}\n  server {{ listen 127.0.0.1:{content}; return 200 \"plain\\n\"; }}"
        );
        // http-bare's plain port serves content instead of redirecting.
        let plain = if *name == "http-bare" {
            content
        } else {
            redirect
        };
        zoo.http.push((name, https, plain));
    }
    let conf = format!(
        "worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\nevents {{ worker_connections 1024; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {d}/tmp/body;\n  proxy_temp_path {d}/tmp/proxy;\n  fastcgi_temp_path {d}/tmp/fastcgi;\n  uwsgi_temp_path {d}/tmp/uwsgi;\n  scgi_temp_path {d}/tmp/scgi;\n  default_type text/plain;\n  ssl_protocols TLSv1.2 TLSv1.3;\n  ssl_ciphers {AEAD};\n  ssl_prefer_server_ciphers on;\n  ssl_session_cache shared:zoo:1m;\n  limit_req_zone $binary_remote_addr zone=burst:1m rate=1r/s;\n  map $http_authorization $auth_ok {{ \"Bearer {TOKEN}\" 1; default 0; }}\n{servers}}}\n"
    );
    write(dir, "nginx.conf", &conf)?;
    nginx(dir, &["-t", "-q"])?;
    nginx(dir, &[])?;
    for _ in 0..50 {
        if std::fs::metadata(dir.join("nginx.pid")).is_ok_and(|m| m.len() > 0) {
            return Ok(zoo);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Err(format!("nginx did not start; see {d}/error.log"))
}

fn params(names: &[&str], from: i64, to: i64) -> Result<CertificateParams, String> {
    let mut p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .map_err(|e| e.to_string())?;
    if let Some(cn) = names.first() {
        p.distinguished_name.push(DnType::CommonName, *cn);
    }
    p.not_before = days(from);
    p.not_after = days(to);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    Ok(p)
}

fn ca_params(cn: &str) -> Result<CertificateParams, String> {
    let mut p = params(&[], -10, 365)?;
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.extended_key_usages = Vec::new();
    Ok(p)
}

/// An RSA key made by openssl in `NAME.key`.
fn genkey(dir: &Path, name: &str, bits: u32) -> Result<(), String> {
    let file = format!("{name}.key");
    let bits = format!("rsa_keygen_bits:{bits}");
    run(
        dir,
        "openssl",
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            &bits,
            "-out",
            &file,
        ],
    )
}

/// An RSA key made by openssl, loaded for rcgen.
fn key(dir: &Path, name: &str, bits: u32) -> Result<KeyPair, String> {
    genkey(dir, name, bits)?;
    let file = format!("{name}.key");
    let pem = std::fs::read_to_string(dir.join(&file)).map_err(|e| e.to_string())?;
    KeyPair::from_pem(&pem).map_err(|e| format!("{file}: {e}"))
}

/// Writes `NAME.pem` (the chain) and `NAME.key`.
fn save(dir: &Path, name: &str, chain: &[String], key_pem: &str) -> Result<(), String> {
    write(dir, &format!("{name}.pem"), &chain.concat())?;
    write(dir, &format!("{name}.key"), key_pem)
}

fn certificates(dir: &Path) -> Result<(), String> {
    let ca_key = key(dir, "ca", 2048)?;
    let root_params = ca_params("shipcheck zoo CA")?;
    let ca = root_params
        .self_signed(&ca_key)
        .map_err(|e| e.to_string())?;
    write(dir, "ca.pem", &ca.pem())?;
    let issuer = Issuer::from_params(&root_params, &ca_key);
    let leaf_key = key(dir, "leaf", 2048)?;
    let leaf_pem = leaf_key.serialize_pem();
    let names = ["localhost", "127.0.0.1"];
    let issue = |name: &str, p: CertificateParams| -> Result<(), String> {
        let c = p.signed_by(&leaf_key, &issuer).map_err(|e| e.to_string())?;
        save(dir, name, &[c.pem()], &leaf_pem)
    };
    issue("leaf", params(&names, -1, 90)?)?;
    issue("expired", params(&names, -60, -1)?)?;
    issue("future", params(&names, 5, 90)?)?;
    issue("expiring", params(&names, -80, 5)?)?;
    issue("wrong-host", params(&["other.example"], -1, 90)?)?;
    let mut p = params(&names, -1, 90)?;
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    issue("client-usage", p)?;
    let mut p = params(&names, -1, 90)?;
    p.serial_number = Some(SerialNumber::from_slice(&[0x01, 0x02]));
    issue("short-serial", p)?;
    let mut p = params(&names, -1, 90)?;
    p.custom_extensions
        .push(crate::pki::ocsp_aia("http://127.0.0.1:9/ocsp"));
    issue("ocsp", p)?;
    let mut p = params(&names, -1, 90)?;
    p.custom_extensions.push(sct_list());
    issue("sct", p)?;
    let self_signed = params(&names, -1, 90)?
        .self_signed(&leaf_key)
        .map_err(|e| e.to_string())?;
    save(dir, "self-signed", &[self_signed.pem()], &leaf_pem)?;
    // Another CA, unknown to the trust file.
    let other_key = KeyPair::generate().map_err(|e| e.to_string())?;
    let other_params = ca_params("some other CA")?;
    let other = Issuer::from_params(&other_params, &other_key);
    let c = params(&names, -1, 90)?
        .signed_by(&leaf_key, &other)
        .map_err(|e| e.to_string())?;
    // Served with that CA, so the chain is complete and only untrusted.
    let other_root = other_params
        .self_signed(&other_key)
        .map_err(|e| e.to_string())?;
    save(dir, "other-ca", &[c.pem(), other_root.pem()], &leaf_pem)?;
    // A leaf below an intermediate, served without it.
    let mid_key = KeyPair::generate().map_err(|e| e.to_string())?;
    let mid_params = ca_params("zoo intermediate")?;
    let mid = Issuer::from_params(&mid_params, &mid_key);
    let c = params(&names, -1, 90)?
        .signed_by(&leaf_key, &mid)
        .map_err(|e| e.to_string())?;
    save(dir, "below-intermediate", &[c.pem()], &leaf_pem)?;
    // What rcgen cannot make: an RSA-1024 key, a SHA-1 signature (openssl x509).
    let ext = "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";
    write(dir, "leaf.ext", ext)?;
    genkey(dir, "weak-key", 1024)?;
    for (name, keyfile, digest) in [
        ("weak-key", "weak-key.key", "-sha256"),
        ("sha1", "leaf.key", "-sha1"),
    ] {
        let csr = format!("{name}.csr");
        let out = format!("{name}.pem");
        run(
            dir,
            "openssl",
            &[
                "req",
                "-new",
                "-key",
                keyfile,
                "-subj",
                "/CN=localhost",
                "-out",
                &csr,
            ],
        )?;
        run(
            dir,
            "openssl",
            &[
                "x509",
                "-req",
                digest,
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "60",
                "-extfile",
                "leaf.ext",
                "-out",
                &out,
            ],
        )?;
    }
    write(dir, "sha1.key", &leaf_pem)?;
    // DH parameters of 1024 bits (DSA-style generation: fast).
    run(
        dir,
        "openssl",
        &["dhparam", "-dsaparam", "-out", "dh1024.pem", "1024"],
    )?;
    ocsp_response(dir)
}

/// A "good" OCSP response for `ocsp.pem`, signed by the CA (`openssl ocsp` as responder).
fn ocsp_response(dir: &Path) -> Result<(), String> {
    run(
        dir,
        "openssl",
        &[
            "ocsp",
            "-issuer",
            "ca.pem",
            "-cert",
            "ocsp.pem",
            "-no_nonce",
            "-reqout",
            "ocsp-req.der",
        ],
    )?;
    let serial = Command::new("openssl")
        .args(["x509", "-in", "ocsp.pem", "-noout", "-serial"])
        .current_dir(dir)
        .output()
        .map_err(|e| e.to_string())?;
    let serial = String::from_utf8_lossy(&serial.stdout);
    let serial = serial.trim().trim_start_matches("serial=");
    let expiry = "301231235959Z";
    write(
        dir,
        "index.txt",
        &format!("V\t{expiry}\t\t{serial}\tunknown\t/CN=localhost\n"),
    )?;
    run(
        dir,
        "openssl",
        &[
            "ocsp",
            "-index",
            "index.txt",
            "-rsigner",
            "ca.pem",
            "-rkey",
            "ca.key",
            "-CA",
            "ca.pem",
            "-reqin",
            "ocsp-req.der",
            "-respout",
            "ocsp.der",
            "-ndays",
            "2",
        ],
    )
}

/// An embedded SCT list extension (RFC 6962 3.3) holding one timestamp from a made-up log:
/// what a publicly logged certificate carries. Nobody verifies its signature here.
fn sct_list() -> rcgen::CustomExtension {
    let mut sct = vec![0u8]; // v1
    sct.extend_from_slice(&[0x11; 32]); // log id
    sct.extend_from_slice(&1_700_000_000_000u64.to_be_bytes());
    sct.extend_from_slice(&[0, 0]); // no extensions
    sct.extend_from_slice(&[4, 3, 0, 8]); // SHA-256 / ECDSA, 8 bytes of signature
    sct.extend_from_slice(&[0x22; 8]);
    let mut list = ((sct.len() + 2) as u16).to_be_bytes().to_vec();
    list.extend_from_slice(&(sct.len() as u16).to_be_bytes());
    list.extend_from_slice(&sct);
    let mut content = vec![0x04, list.len() as u8];
    content.extend_from_slice(&list);
    rcgen::CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 11129, 2, 4, 2], content)
}
