//! CI integrations as their hosts run them: the GitHub Action's run step with the
//! environment GitHub sets, and the pre-commit hooks through the real `pre-commit` (PyPI).

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("shipcheck")
}

/// A profile with one item that passes and one that passes only when `FLAG` exists.
fn deployment(dir: &Path) {
    write_pack(
        dir,
        &[
            ("always", "check:\n  file: {path: pack.yaml}"),
            ("flag", "check:\n  file: {path: FLAG}"),
        ],
        "",
    );
}

/// The Action's script with GitHub's variables: the Markdown report lands in the job
/// summary, the outputs name the verdict and the SARIF file, a no-go fails the step with an
/// error annotation, and a go passes it.
#[test]
fn github_action_reports_to_the_job_and_gates_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    deployment(dir);
    let run = || {
        let summary = dir.join("summary.md");
        let output = dir.join("output.txt");
        let _ = std::fs::remove_file(&summary);
        let _ = std::fs::remove_file(&output);
        let out = Command::new("bash")
            .arg(root().join("scripts/github-action.sh"))
            .current_dir(dir)
            .env("SHIPCHECK_BIN", binary())
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_WORKSPACE", dir)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_OUTPUT", &output)
            .env("RUNNER_TEMP", dir.join("runner-temp"))
            .env("INPUT_PROFILE", "shipcheck.yaml")
            .env("INPUT_ENVIRONMENT", "")
            .env("INPUT_PHASE", "pre-deploy")
            .env("INPUT_FAIL_ON", "")
            .env("INPUT_ARGS", "")
            .env("NO_COLOR", "1")
            .output()
            .expect("bash runs");
        let summary = std::fs::read_to_string(summary).unwrap_or_default();
        let outputs = std::fs::read_to_string(output).unwrap_or_default();
        (out, summary, outputs)
    };
    let (out, summary, outputs) = run();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        summary.contains("flag"),
        "the job summary lists the failure: {summary}"
    );
    assert!(outputs.contains("go=false"), "{outputs}");
    let sarif = outputs
        .lines()
        .find_map(|l| l.strip_prefix("sarif="))
        .expect("sarif output");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sarif).unwrap()).unwrap();
    assert_eq!(v["version"], "2.1.0");
    assert!(String::from_utf8_lossy(&out.stdout).contains("::error title=shipcheck::Gate: NO-GO"));
    std::fs::write(dir.join("FLAG"), "").unwrap();
    let (out, _, outputs) = run();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(outputs.contains("go=true"), "{outputs}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("::notice title=shipcheck::Gate: GO"));
}

/// The hooks of `.pre-commit-hooks.yaml`, run by the real pre-commit with `try-repo` from a
/// scratch git repository: lint refuses a broken pack (naming file and line) and accepts a
/// good one; the pre-deploy hook blocks on no-go.
#[test]
fn pre_commit_hooks_run_with_the_real_pre_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    deployment(&repo);
    let bin_dir = binary().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(&repo)
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    // The hooks repository: this repository's .pre-commit-hooks.yaml, committed in a repo of
    // its own (try-repo reads committed files; the working tree here may hold uncommitted ones).
    let hooks = tmp.path().join("hooks");
    std::fs::create_dir(&hooks).unwrap();
    std::fs::copy(
        root().join(".pre-commit-hooks.yaml"),
        hooks.join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    let commit = [
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.test",
        "commit",
        "-qm",
        "hooks",
    ];
    for args in [&["init", "-q"][..], &["add", "."], &commit] {
        let out = Command::new("git")
            .args(args)
            .current_dir(&hooks)
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let hook = |id: &str, files: &[&str]| {
        let mut cmd = Command::new("pre-commit");
        cmd.args([
            "try-repo",
            &hooks.display().to_string(),
            id,
            "--verbose",
            "--files",
        ])
        .args(files)
        .current_dir(&repo)
        .env("PATH", &path)
        .env("PRE_COMMIT_HOME", tmp.path().join("cache"))
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.test")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.test")
        .env("NO_COLOR", "1");
        let out = cmd
            .output()
            .expect("pre-commit is installed (scripts/install-test-deps.sh)");
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (code, text) = hook("shipcheck-pack-lint", &["pack.yaml"]);
    assert_eq!(code, Some(0), "{text}");
    // A typo in a field name: refused, with the file and line.
    let pack = std::fs::read_to_string(repo.join("pack.yaml")).unwrap();
    std::fs::write(
        repo.join("pack.yaml"),
        pack.replace("severity: low", "severty: low"),
    )
    .unwrap();
    git(&["add", "."]);
    let (code, text) = hook("shipcheck-pack-lint", &["pack.yaml"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("pack.yaml:") && text.contains("severty"),
        "{text}"
    );
    std::fs::write(repo.join("pack.yaml"), pack).unwrap();
    git(&["add", "."]);
    // Pre-deploy items: FLAG is missing, so no-go blocks the commit; then go.
    let (code, text) = hook("shipcheck-pre-deploy", &["shipcheck.yaml"]);
    assert_eq!(code, Some(1), "{text}");
    std::fs::write(repo.join("FLAG"), "").unwrap();
    let (code, text) = hook("shipcheck-pre-deploy", &["shipcheck.yaml"]);
    assert_eq!(code, Some(0), "{text}");
}

/// `cargo install --locked --path .`, as the README says, installs a working binary. The
/// build reuses this test run's target folder (`--debug`), so it costs seconds, not a release
/// build.
#[test]
fn cargo_install_from_the_checkout_works() {
    let tmp = tempfile::tempdir().unwrap();
    let target = root().join("target");
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["install", "--locked", "--offline", "--debug", "--path"])
        .arg(root())
        .arg("--root")
        .arg(tmp.path())
        .arg("--target-dir")
        .arg(&target)
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let installed = tmp.path().join("bin/shipcheck");
    let out = Command::new(&installed)
        .arg("--version")
        .output()
        .expect("installed binary runs");
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("shipcheck "),
        "{out:?}"
    );
    let out = Command::new(&installed)
        .args(["pack", "list"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("web-service"));
}
