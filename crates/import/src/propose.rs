//! The check a command implies. A checklist shows how its author looked: `curl -I URL`,
//! `openssl s_client`, `jq '.a' FILE`, `stat`/`ls -l`/`chmod 600`, `grep X FILE`,
//! `systemctl is-active`, `docker ps`, `pg_isready`, `nc -z`, `ss -ltn`. Each becomes the
//! probe that observes the same fact, never by running anything that changes the
//! deployment: a `curl -X POST`, a `jq` assignment, `systemctl restart` or a shell loop
//! proposes nothing. Proposals are marked for review by the importer.

use serde_json::{Value, json};

/// A check proposed from a command.
#[derive(Clone, Debug, PartialEq)]
pub struct Proposal {
    /// The item's `check:` value.
    pub check: Value,
    /// What it observes, in a few words.
    pub what: String,
}

/// The check `command` implies, refined by what the document says to expect of it (`note`:
/// "Should return 401", "Should NOT return Access-Control-Allow-Origin header").
pub fn propose_with(command: &str, note: &str, context: &str) -> Option<Proposal> {
    let mut p = propose(command)?;
    // A port the item says must be closed: the check is that it does not answer.
    if let Some(tcp) = p.check.get_mut("tcp") {
        let words = format!("{note} {context}").to_lowercase();
        let closed = [
            "closed",
            "closes",
            "blocked",
            "not reachable",
            "never be reachable",
            "not exposed",
            "unreachable",
            "firewalled",
        ];
        if closed.iter().any(|w| words.contains(w)) {
            tcp["expect_state"] = Value::from("closed");
            let (host, port) = (
                tcp["host"].as_str().unwrap_or_default().to_string(),
                tcp["port"].as_str().unwrap_or_default().to_string(),
            );
            p.what = format!("{host}:{port} refuses connections (closed)");
        }
        return Some(p);
    }
    let Some(http) = p.check.get_mut("http") else {
        return Some(p);
    };
    let lower = note.to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let returns = words.iter().position(|w| *w == "return" || *w == "returns");
    let negated = returns.is_some_and(|i| i > 0 && words[i - 1] == "not");
    let after: Vec<&str> = returns.map(|i| words[i + 1..].to_vec()).unwrap_or_default();
    let url = http["url"].as_str().unwrap_or_default().to_string();
    if let Some(code) = after
        .first()
        .and_then(|w| w.parse::<u16>().ok())
        .filter(|c| (100..600).contains(c))
        && !negated
    {
        http["status"] = json!([code]);
        p.what = format!("{url} answers {code}");
    } else if let Some(h) = after
        .iter()
        .position(|w| *w == "header")
        .and_then(|i| i.checked_sub(1))
        .map(|i| after[i])
    {
        let field = if negated {
            "headers_absent"
        } else {
            "headers_present"
        };
        if let Some(o) = http.as_object_mut() {
            o.remove("status");
        }
        http[field] = json!([h]);
        p.what = format!(
            "{url} answers {} a `{h}` header",
            if negated { "without" } else { "with" }
        );
    }
    Some(p)
}

/// The check `command` implies, if it is one this knows and it only reads.
pub fn propose(command: &str) -> Option<Proposal> {
    let command = command.trim().trim_start_matches("$ ").trim();
    if command.contains("$(")
        || command.contains('`')
        || (command.contains(['{', '}']) && !command.starts_with("jq"))
    {
        return None;
    }
    // `A | grep X`: the grep is what is looked for in A's output.
    let mut stages = command.split(" | ");
    let first = stages.next()?;
    let grep = stages
        .next()
        .and_then(shlex::split)
        .filter(|a| a.first().is_some_and(|p| p == "grep"))
        .and_then(|a| a.into_iter().skip(1).find(|w| !w.starts_with('-')));
    if command.contains(" | ") && grep.is_none() {
        return None;
    }
    let mut argv = shlex::split(first)?;
    if argv.first().is_some_and(|p| p == "sudo") {
        argv.remove(0);
    }
    if argv
        .iter()
        .any(|a| a.contains('$') || a.contains(['<', '>', ';', '&']))
    {
        return None;
    }
    let program = argv.first()?.rsplit('/').next()?.to_string();
    match program.as_str() {
        "curl" => curl(&argv, grep.as_deref()),
        "openssl" => openssl(&argv),
        "jq" => jq(&argv),
        "stat" | "ls" => file_mode(&argv, None),
        "chmod" => {
            let mode = argv
                .get(1)
                .filter(|m| m.chars().all(|c| c.is_ascii_digit()))?;
            file_mode(&argv[1..], Some(mode))
        }
        "grep" => grep_file(&argv),
        "systemctl" => read_only(&argv, &["is-active", "is-enabled", "is-failed", "status"]),
        "docker" => read_only(&argv, &["ps", "inspect"]),
        "pg_isready" => Some(run(&argv)),
        "nc" => nc(&argv),
        "ss" | "netstat" => listening(grep.as_deref()),
        _ => None,
    }
}

/// Whether `command` runs one of the programs [`propose`] knows (proposed or not).
pub fn known_program(command: &str) -> bool {
    let first = command
        .trim()
        .trim_start_matches("$ ")
        .trim_start_matches("sudo ")
        .split_whitespace()
        .next()
        .unwrap_or("");
    matches!(
        first.rsplit('/').next().unwrap_or(""),
        "curl"
            | "openssl"
            | "jq"
            | "stat"
            | "ls"
            | "chmod"
            | "grep"
            | "systemctl"
            | "docker"
            | "pg_isready"
            | "nc"
            | "ss"
            | "netstat"
    )
}

fn curl(argv: &[String], grep: Option<&str>) -> Option<Proposal> {
    let mut head = false;
    let mut headers = serde_json::Map::new();
    let mut url = None;
    let mut i = 1;
    while i < argv.len() {
        let a = argv[i].as_str();
        match a {
            "-X" | "--request" => {
                let method = argv.get(i + 1)?.to_uppercase();
                if method != "GET" && method != "HEAD" {
                    return None;
                }
                i += 1;
            }
            "-d" | "--data" | "--data-raw" | "--data-binary" | "-F" | "--form" | "-T"
            | "--upload-file" | "-o" | "--output" => return None,
            "-H" | "--header" => {
                let (k, v) = argv.get(i + 1)?.split_once(':')?;
                headers.insert(k.trim().to_string(), Value::from(v.trim()));
                i += 1;
            }
            _ if a.starts_with("--") => head |= a == "--head",
            _ if a.starts_with('-') => head |= a.contains('I'),
            _ if a.starts_with("http://") || a.starts_with("https://") => url = Some(a),
            _ => {}
        }
        i += 1;
    }
    let url = url?;
    let mut http = json!({"url": url});
    if head {
        http["method"] = Value::from("HEAD");
    }
    if !headers.is_empty() {
        http["headers"] = Value::Object(headers);
    }
    let what = match grep {
        Some(g) if head => {
            http["headers_present"] = json!([g.trim_end_matches(':').to_lowercase()]);
            format!("{url} answers with a `{g}` header")
        }
        Some(g) => {
            http["body_matches"] = Value::from(regex_escape(g));
            format!("{url}'s body contains `{g}`")
        }
        None => {
            http["status"] = json!([200]);
            format!("{url} answers 200")
        }
    };
    Some(Proposal {
        check: json!({"http": http}),
        what,
    })
}

fn openssl(argv: &[String]) -> Option<Proposal> {
    if argv.get(1).map(String::as_str) != Some("s_client") {
        return None;
    }
    let i = argv.iter().position(|a| a == "-connect")?;
    let (host, port) = argv.get(i + 1)?.rsplit_once(':')?;
    Some(Proposal {
        check: json!({"tls": {"host": host, "port": port}}),
        what: format!("{host}:{port} completes a TLS handshake with a valid certificate"),
    })
}

fn jq(argv: &[String]) -> Option<Proposal> {
    let words: Vec<&String> = argv[1..].iter().filter(|a| !a.starts_with('-')).collect();
    let (query, file) = (words.first()?, words.get(1)?);
    // An assignment writes: it is the fix, not the check.
    if query.contains(" = ") || query.contains("|=") || words.len() > 2 {
        return None;
    }
    let expect = if argv.iter().any(|a| a == "-e") {
        json!([{"equals": true}])
    } else {
        json!([{"exists": true}])
    };
    Some(Proposal {
        check: json!({"config": {"path": file, "query": query}, "expect": expect}),
        what: format!("`{query}` in {file}"),
    })
}

fn file_mode(argv: &[String], mode: Option<&str>) -> Option<Proposal> {
    let path = argv[1..]
        .iter()
        .rfind(|a| !a.starts_with('-') && !a.starts_with('%') && Some(a.as_str()) != mode)?;
    if path.contains('*') {
        return None;
    }
    if path.ends_with('/') {
        return Some(Proposal {
            check: json!({"file": {"path": path, "exists": true}}),
            what: format!("{path} exists"),
        });
    }
    let mode = format!("0{}", mode.unwrap_or("600").trim_start_matches('0'));
    Some(Proposal {
        check: json!({"file": {"path": path, "mode_max": mode}}),
        what: format!("{path} is at most mode {mode}"),
    })
}

fn grep_file(argv: &[String]) -> Option<Proposal> {
    let words: Vec<&String> = argv[1..].iter().filter(|a| !a.starts_with('-')).collect();
    if argv.iter().any(|a| a == "-v" || a == "-r" || a == "-R") || words.len() != 2 {
        return None;
    }
    Some(Proposal {
        check: json!({"file": {"path": words[1], "contains": words[0]}}),
        what: format!("{} contains `{}`", words[1], words[0]),
    })
}

fn read_only(argv: &[String], verbs: &[&str]) -> Option<Proposal> {
    let verb = argv.get(1)?;
    verbs.contains(&verb.as_str()).then(|| run(argv))
}

fn run(argv: &[String]) -> Proposal {
    Proposal {
        check: json!({"command": {"argv": argv, "exit_code": 0}}),
        what: format!("`{}` exits 0", argv.join(" ")),
    }
}

fn nc(argv: &[String]) -> Option<Proposal> {
    if !argv.iter().any(|a| a.starts_with('-') && a.contains('z')) {
        return None;
    }
    let words: Vec<&String> = argv[1..].iter().filter(|a| !a.starts_with('-')).collect();
    let (host, port) = (words.first()?, words.get(1)?);
    port.parse::<u16>().ok()?;
    Some(Proposal {
        check: json!({"tcp": {"host": host, "port": port}}),
        what: format!("{host}:{port} accepts connections"),
    })
}

fn listening(grep: Option<&str>) -> Option<Proposal> {
    let port = grep?.trim_start_matches(':');
    port.parse::<u16>().ok()?;
    Some(Proposal {
        check: json!({"tcp": {"host": "127.0.0.1", "port": port}}),
        what: format!("port {port} is listening on this host"),
    })
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(cmd: &str) -> Option<String> {
        propose(cmd).map(|p| {
            p.check
                .as_object()
                .unwrap()
                .keys()
                .find(|k| *k != "expect")
                .unwrap()
                .clone()
        })
    }

    #[test]
    fn each_documented_command_proposes_its_probe() {
        let cases = [
            ("curl -I https://your-domain.com", Some("http")),
            ("curl -s https://a.example/health | grep ok", Some("http")),
            ("openssl s_client -connect db.example:5432", Some("tls")),
            (
                "jq '.gateway.tls' ~/.secureclaw/secureclaw.json",
                Some("config"),
            ),
            ("stat -c %a /etc/app.env", Some("file")),
            ("ls -l /etc/app.env", Some("file")),
            ("chmod 600 ~/.secureclaw/secureclaw.json", Some("file")),
            ("grep ssl_protocols /etc/nginx/nginx.conf", Some("file")),
            ("systemctl is-active app", Some("command")),
            ("sudo systemctl status app", Some("command")),
            ("docker ps", Some("command")),
            ("pg_isready -h db -p 5432", Some("command")),
            ("nc -z db.internal 5432", Some("tcp")),
            ("ss -ltn | grep :5432", Some("tcp")),
        ];
        for (cmd, want) in cases {
            assert_eq!(kind(cmd).as_deref(), want, "{cmd}");
        }
    }

    #[test]
    fn nothing_that_writes_or_loops_is_proposed() {
        for cmd in [
            "curl -X POST https://api.example/admin/revoke",
            "curl -d x=1 https://api.example/",
            "jq '.gateway.token = $token' f.json",
            "sudo systemctl restart app",
            "docker rm app",
            "for i in {1..200}; do curl http://localhost:8080/health; done",
            "curl -H \"Authorization: Bearer $TOKEN\" https://a.example/",
            "openssl rand -base64 32",
            "tail -f log | grep error",
            "chmod 600 ~/.secureclaw/gateway-*.pem",
        ] {
            assert_eq!(propose(cmd), None, "{cmd}");
        }
    }

    #[test]
    fn the_document_s_expectation_refines_the_check() {
        let p = propose_with(
            "curl https://api.example/internal",
            "Should return 401 Unauthorized",
            "",
        )
        .unwrap();
        assert_eq!(p.check["http"]["status"], json!([401]));
        let p = propose_with(
            "curl -H \"Origin: https://evil.com\" https://relay.example/health",
            "Should NOT return Access-Control-Allow-Origin header",
            "",
        )
        .unwrap();
        assert_eq!(
            p.check["http"]["headers_absent"],
            json!(["access-control-allow-origin"])
        );
        assert_eq!(p.check["http"].get("status"), None);
        let p = propose_with(
            "nc -z db 5432",
            "",
            "The database port is closed to the internet",
        )
        .unwrap();
        assert_eq!(p.check["tcp"]["expect_state"], "closed");
    }

    #[test]
    fn proposals_carry_what_the_command_said() {
        let p = propose("chmod 640 /etc/app.env").unwrap();
        assert_eq!(
            p.check,
            json!({"file": {"path": "/etc/app.env", "mode_max": "0640"}})
        );
        let p = propose("curl -sI https://a.example | grep -i Strict-Transport-Security").unwrap();
        assert_eq!(
            p.check["http"]["headers_present"],
            json!(["strict-transport-security"])
        );
        assert_eq!(p.check["http"]["method"], "HEAD");
    }
}
