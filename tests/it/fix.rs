//! `shipcheck fix` (issue #18) on the built-in system packs' bad fixture deployments: the
//! dry run changes nothing, `--apply` makes every item with a safe fix pass and changes
//! nothing else (bytes and layout outside the edited values), `--undo` restores every file
//! byte for byte; bad input is refused with nothing half-written.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::*;
use crate::systems::{Deployment, check, deploy, prepare_secureclaw};

/// Every file and folder of the deployment under `dir` (not shipcheck's own state and
/// ledger): its bytes (files) and mode.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            if name.starts_with(".state") || name.starts_with(".ledger") {
                continue;
            }
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.is_dir() {
                stack.push(p.clone());
                out.insert(p, (Vec::new(), mode));
            } else if meta.is_file() {
                out.insert(p.clone(), (std::fs::read(&p).unwrap(), mode));
            }
        }
    }
    out
}

/// Asserts two snapshots are equal, naming the paths that differ.
fn same(a: &BTreeMap<PathBuf, (Vec<u8>, u32)>, b: &BTreeMap<PathBuf, (Vec<u8>, u32)>, what: &str) {
    let differ: Vec<String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| k.display().to_string())
        .collect();
    assert!(differ.is_empty(), "{what}: {differ:?}");
}

/// `fix --apply` is refused (exit 2) saying `want`, and changes nothing.
fn refused(d: &Deployment, want: &str) {
    let before = snapshot(d.dir.path());
    let out = fix(d, &["--apply"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stderr(&out).contains(want), "{want}: {}", text(&out));
    same(
        &snapshot(d.dir.path()),
        &before,
        "a refused fix changed nothing",
    );
}

fn fix(d: &Deployment, args: &[&str]) -> Output {
    let state = d.dir.path().join(".state");
    let mut all = vec!["fix"];
    all.extend_from_slice(args);
    d.shipcheck(&[("SHIPCHECK_STATE_DIR", state.to_str().unwrap())], &all)
}

fn text(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

/// The dry run, the apply, the check after and the undo on one bad deployment; returns the
/// items fixed.
fn fix_and_undo(d: &Deployment, safe_items: &[&str]) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    let before = snapshot(d.dir.path());
    let dry = fix(d, &[]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    assert!(
        stdout(&dry).contains("dry run: nothing changed"),
        "{}",
        text(&dry)
    );
    assert_eq!(
        snapshot(d.dir.path()),
        before,
        "the dry run changed nothing"
    );
    let applied = fix(d, &["--apply"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    for item in safe_items {
        assert!(
            stdout(&applied).contains(&format!("fixed: {item}")),
            "{item}: {}",
            text(&applied)
        );
    }
    let (statuses, _) = check(d);
    for item in safe_items {
        assert_eq!(
            statuses.get(*item).map(String::as_str),
            Some("pass"),
            "{item}"
        );
    }
    assert!(
        stderr(&applied).contains("recorded the fix in the ledger (#"),
        "{}",
        text(&applied)
    );
    let after = snapshot(d.dir.path());
    let undo = fix(d, &["--undo"]);
    assert_eq!(undo.status.code(), Some(0), "{}", text(&undo));
    assert!(
        stderr(&undo).contains("recorded the fix in the ledger (#"),
        "{}",
        text(&undo)
    );
    // The fix records are chained and placed in the deployment like any other.
    let verify = d.shipcheck(&[], &["ledger", "verify"]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
    assert!(!text(&verify).contains("unassigned"), "{}", text(&verify));
    let restored = snapshot(d.dir.path());
    for (path, (bytes, mode)) in &before {
        let (b, m) = &restored[path];
        assert!(
            b == bytes && m == mode,
            "{} is not restored byte for byte",
            path.display()
        );
    }
    after
}

#[test]
fn secureclaw_safe_fixes_pass_and_keep_the_json5_layout() {
    let d = deploy("secureclaw", "bad", |dir| {
        prepare_secureclaw(dir, false, 72)
    });
    let config = d.dir.path().join("state/secureclaw.json");
    let original = std::fs::read_to_string(&config).unwrap();
    // The diff's context lines hold the token: masked, as every secret-looking key's value.
    let dry = fix(&d, &["--unsafe"]);
    assert!(
        !text(&dry).contains("changeme-gateway-token"),
        "{}",
        text(&dry)
    );
    assert!(
        stdout(&dry).contains("token: <secret: 24 chars>")
            || stdout(&dry).contains("<secret: 22 chars>"),
        "{}",
        text(&dry)
    );
    let after = fix_and_undo(
        &d,
        &[
            "secureclaw:files.env-file-mode",
            "secureclaw:files.coach-config-mode",
            "secureclaw:files.backup-dir-mode",
            "secureclaw:files.log-mode",
            "secureclaw:network.doc-rate-limit-key",
        ],
    );
    // Byte level: the config lost exactly its rateLimit line; comments, unquoted keys and
    // trailing commas stay.
    let fixed = String::from_utf8(after[&config].0.clone()).unwrap();
    assert_eq!(
        fixed,
        original.replace("    rateLimit: { requestsPerMinute: 60 },\n", "")
    );
    assert!(fixed.starts_with("// SecureClaw config"));
}

#[test]
fn ocmt_rack_gateway_and_clasp_safe_fixes_pass() {
    let d = deploy("ocmt", "bad", |dir| {
        for env in ["mgmt.env", "relay.env", "agent.env", "admin.env"] {
            chmod(&dir.join(env), 0o644);
        }
        chmod(&dir.join("backups"), 0o755);
        age(&dir.join("backups/ocmt-20261122.sql"), 50);
        // The example's placeholder password, for the unsafe fix below.
        let mgmt = dir.join("mgmt.env");
        let text = std::fs::read_to_string(&mgmt).unwrap();
        let old = text
            .lines()
            .find(|l| l.starts_with("ADMIN_PASSWORD="))
            .unwrap()
            .to_string();
        std::fs::write(
            &mgmt,
            text.replace(&old, "ADMIN_PASSWORD=change-this-to-something-secure"),
        )
        .unwrap();
    });
    let after = fix_and_undo(
        &d,
        &[
            "ocmt:secrets.management-env-mode",
            "ocmt:secrets.relay-env-mode",
            "ocmt:secrets.agent-env-mode",
            "ocmt:secrets.admin-env-mode",
            "ocmt:backups.dir-mode",
        ],
    );
    assert_eq!(after[&d.dir.path().join("mgmt.env")].1, 0o600);
    // The unsafe ones: new secrets in the env files, only their lines changed.
    let before = snapshot(d.dir.path());
    let out = fix(&d, &["--apply", "--unsafe"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (statuses, _) = check(&d);
    for item in [
        "ocmt:secrets.admin-token",
        "ocmt:secrets.csrf-secret",
        "ocmt:secrets.admin-password",
    ] {
        if stdout(&out).contains(&format!("fixed: {item}")) {
            assert_eq!(
                statuses.get(item).map(String::as_str),
                Some("pass"),
                "{item}"
            );
        }
    }
    assert!(
        stdout(&out).contains("fixed: ocmt:secrets.admin-password"),
        "{}",
        text(&out)
    );
    let mgmt = d.dir.path().join("mgmt.env");
    let (old, new) = (
        String::from_utf8(before[&mgmt].0.clone()).unwrap(),
        std::fs::read_to_string(&mgmt).unwrap(),
    );
    let changed: Vec<(&str, &str)> = old
        .lines()
        .zip(new.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert!(
        old.lines().count() == new.lines().count()
            && changed
                .iter()
                .all(|(a, _)| a.starts_with("ADMIN_PASSWORD=") || a.starts_with("CSRF_SECRET=")),
        "{changed:?}"
    );
    for (_, line) in &changed {
        let secret = line.split_once('=').unwrap().1;
        assert!(!text(&out).contains(secret), "a new secret was printed");
    }
    let d = deploy("rack-gateway", "bad", |dir| {
        crate::systems::prepare_rack(dir, false);
        chmod(&dir.join("gateway.env"), 0o644);
    });
    fix_and_undo(&d, &["rack-gateway:secrets.env-file-mode"]);
    // CLASP: the admin token file is named by the relay's command line; the fix takes its
    // path from what the check observed.
    let d = deploy("clasp", "bad", |dir| {
        chmod(&dir.join("secrets/admin.token"), 0o644);
    });
    let after = fix_and_undo(&d, &["clasp:auth.admin-token-mode"]);
    assert_eq!(after[&d.dir.path().join("secrets/admin.token")].1, 0o600);
}

#[test]
fn unsafe_fixes_need_unsafe_and_a_reference_is_fixed_where_its_value_lives() {
    let d = deploy("secureclaw", "bad", |dir| {
        prepare_secureclaw(dir, false, 72);
        // The token is a reference to the service's env file.
        let config = dir.join("state/secureclaw.json");
        let text = std::fs::read_to_string(&config)
            .unwrap()
            .replace(
                "auth: { mode: \"token\", token: \"changeme-gateway-token\" }",
                "auth: { mode: \"token\", token: \"${GATEWAY_TOKEN}\" }",
            )
            .replace(
                "allowInsecureAuth: true",
                "allowInsecureAuth: \"${ALLOW_INSECURE}\"",
            );
        std::fs::write(&config, text).unwrap();
        let env = dir.join("gateway.env");
        let mut e = std::fs::read_to_string(&env).unwrap();
        e.push_str("GATEWAY_TOKEN=changeme-gateway-token\nALLOW_INSECURE=true\n");
        std::fs::write(&env, e).unwrap();
    });
    let dry = fix(&d, &[]);
    assert!(
        stdout(&dry)
            .contains("not applied without --unsafe: secureclaw:gateway.auth.token-strength"),
        "{}",
        text(&dry)
    );
    let shown = fix(&d, &["--unsafe"]);
    let out = stdout(&shown);
    assert!(
        out.contains("# gateway.env (secureclaw:gateway.auth.token-strength"),
        "{out}"
    );
    assert!(
        out.contains("-GATEWAY_TOKEN=<secret: 22 chars>")
            && out.contains("+GATEWAY_TOKEN=<secret: 64 chars>"),
        "{out}"
    );
    assert!(
        !out.contains("changeme-gateway-token"),
        "a secret in the diff: {out}"
    );
    let applied = fix(&d, &["--apply", "--unsafe", "gateway.auth.token-strength"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    assert!(
        stdout(&applied).contains("fixed: secureclaw:gateway.auth.token-strength"),
        "{}",
        text(&applied)
    );
    // The reference stays; the env file holds a new 64-hex token.
    let config = std::fs::read_to_string(d.dir.path().join("state/secureclaw.json")).unwrap();
    assert!(config.contains("token: \"${GATEWAY_TOKEN}\""), "{config}");
    let env = std::fs::read_to_string(d.dir.path().join("gateway.env")).unwrap();
    let token = env
        .lines()
        .find_map(|l| l.strip_prefix("GATEWAY_TOKEN="))
        .unwrap();
    assert!(
        token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "{token}"
    );
    assert!(
        !text(&applied).contains(token),
        "the new secret is never printed"
    );
    // A reference whose remedy names no env file: refused with the reason, nothing changed.
    let out = fix(&d, &["--unsafe", "network.insecure-auth-off"]);
    assert!(
        stdout(&out).contains("cannot fix secureclaw:network.insecure-auth-off:")
            && stdout(&out).contains("a reference: the value lives where ALLOW_INSECURE is set"),
        "{}",
        text(&out)
    );
    // An item that is not a failing one with a fix: refused, with a suggestion.
    let wrong = fix(&d, &["--apply", "files.env-file-mod"]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        stderr(&wrong).contains("did you mean `secureclaw:files.env-file-mode`"),
        "{}",
        text(&wrong)
    );
}

#[test]
fn a_read_only_changed_or_linked_file_is_refused_and_nothing_is_half_written() {
    // Read-only: refused before any change (the chmods of other files too).
    let d = deploy("secureclaw", "bad", |dir| {
        prepare_secureclaw(dir, false, 72)
    });
    let config = d.dir.path().join("state/secureclaw.json");
    chmod(&config, 0o444);
    refused(&d, "read-only: not changed; nothing was changed");
    // Changed between the dry run and --apply: refused.
    chmod(&config, 0o644);
    assert_eq!(fix(&d, &[]).status.code(), Some(0));
    let mut t = std::fs::read_to_string(&config).unwrap();
    t.push_str("// edited after the dry run\n");
    std::fs::write(&config, &t).unwrap();
    refused(&d, "changed since the dry run");
    // A symbolic link is not replaced by a file: that fix is refused with the manual fix.
    let real = d.dir.path().join("state/real.json");
    std::fs::rename(&config, &real).unwrap();
    std::os::unix::fs::symlink(&real, &config).unwrap();
    let out = fix(&d, &[]);
    assert!(
        stdout(&out).contains("cannot fix secureclaw:network.doc-rate-limit-key:")
            && stdout(&out).contains("is a symbolic link")
            && stdout(&out).contains("by hand: Delete gateway.rateLimit"),
        "{}",
        text(&out)
    );
    assert!(
        std::fs::symlink_metadata(&config)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // Nothing to undo in a fresh state folder.
    let none = d.shipcheck(
        &[(
            "SHIPCHECK_STATE_DIR",
            d.dir.path().join("none").to_str().unwrap(),
        )],
        &["fix", "--undo"],
    );
    assert_eq!(none.status.code(), Some(2));
    assert!(stderr(&none).contains("no fix to undo"), "{}", text(&none));
}

#[test]
fn a_chown_fix_gives_the_file_to_its_owner_and_undo_takes_it_back() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_pack(
        dir,
        &[(
            "owned",
            "remedy: {applicability: safe, chown: {path: data.txt, owner: nobody}}\ncheck:\n  file: {path: data.txt, owner: nobody}",
        )],
        "",
    );
    std::fs::write(dir.join("data.txt"), "x").unwrap();
    let state = dir.join(".state");
    let run = |args: &[&str]| {
        let mut all = vec!["fix"];
        all.extend_from_slice(args);
        shipcheck_db(
            dir,
            &dir.join(".ledger.db").display().to_string(),
            &[("SHIPCHECK_STATE_DIR", state.to_str().unwrap())],
            &all,
        )
    };
    let before = std::fs::metadata(dir.join("data.txt")).unwrap();
    let dry = run(&[]);
    assert!(
        stdout(&dry).contains(&format!("chown {}:{} → 65534:", before.uid(), before.gid())),
        "{}",
        text(&dry)
    );
    let applied = run(&["--apply"]);
    // A file this test made is owned by its effective user: root, or not.
    if before.uid() == 0 {
        assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
        assert!(
            stdout(&applied).contains("fixed: p:owned"),
            "{}",
            text(&applied)
        );
        assert_eq!(
            std::fs::metadata(dir.join("data.txt")).unwrap().uid(),
            65534
        );
        assert_eq!(run(&["--undo"]).status.code(), Some(0));
        assert_eq!(
            std::fs::metadata(dir.join("data.txt")).unwrap().uid(),
            before.uid()
        );
    } else {
        assert_eq!(applied.status.code(), Some(2));
        assert!(
            stderr(&applied).contains("changing its owner needs root"),
            "{}",
            text(&applied)
        );
    }
}

#[test]
fn a_malformed_remedy_is_a_lint_error_naming_the_item() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (
            "remedy: {applicability: safe, chmod: {path: a, path_from: .path, mode: \"0600\"}}",
            "exactly one of path, path_from",
        ),
        (
            "remedy: {applicability: safe, chmod: {path: a, mode: \"0999\"}}",
            "not an octal file mode",
        ),
        (
            "remedy: {applicability: safe}",
            "exactly one of chmod, chown, set, remove, secret",
        ),
        (
            "remedy: {applicability: safe, secret: {path: a, format: env, key: K, length: 8}}",
            "not between 16 and 4096",
        ),
        (
            "remedy: {applicability: maybe, chmod: {path: a, mode: \"0600\"}}",
            "maybe",
        ),
    ];
    for (remedy, want) in cases {
        write_pack(
            tmp.path(),
            &[("x", &format!("{remedy}\ncheck:\n  file: {{path: a}}"))],
            "",
        );
        let out = shipcheck(tmp.path(), &["pack", "lint", "pack.yaml"]);
        assert_eq!(out.status.code(), Some(2), "{remedy}: {}", text(&out));
        assert!(stderr(&out).contains(want), "{remedy}: {}", text(&out));
    }
}
