//! Where waivers may come from: CI can refuse the profile's own (`--no-profile-waivers`,
//! or `SHIPCHECK_NO_PROFILE_WAIVERS`), so a waiver has to be recorded in the ledger, where
//! who waived what is kept, instead of added to the file in the change being gated.

use crate::common::*;

#[test]
fn ci_can_refuse_the_profiles_own_waivers() {
    let tmp = fixture_app();
    let app = tmp.path().join("app");
    let db = tmp.path().join("ledger.db");
    let db = db.to_str().unwrap();
    let profile = std::fs::read_to_string(app.join("shipcheck.yaml")).unwrap();
    std::fs::write(
        app.join("waived.yaml"),
        format!(
            "{profile}waivers:\n  - {{item: config.json-port, reason: port migration, owner: ops, expires: 2999-01-01}}\n"
        ),
    )
    .unwrap();
    let base = ["--profile", "app/waived.yaml", "--env", "bad"];
    let check = |envs: &[(&str, &str)], extra: &[&str]| {
        let mut args = vec!["check"];
        args.extend(base);
        args.extend(["--format", "json"]);
        args.extend(extra);
        json(&shipcheck_db(tmp.path(), db, envs, &args))
    };
    // A waiver recorded in the ledger.
    let mut waive = vec![
        "waive",
        "config.ini-sslmode",
        "--reason",
        "staging cert",
        "--owner",
        "ops",
        "--expires",
        "2999-01-01",
    ];
    waive.extend(base);
    let out = shipcheck_db(tmp.path(), db, &[], &waive);
    assert!(out.status.success(), "{}", stderr(&out));

    // By default both count.
    let run = check(&[], &[]);
    let s = statuses(&run);
    assert_eq!(s["config.json-port"], "waived");
    assert_eq!(s["config.ini-sslmode"], "waived");
    assert!(run["unused_waivers"].as_array().unwrap().is_empty());

    // Refused, by flag or by environment: the profile's waiver does not count and is
    // reported as refused; the ledger's still does.
    for (envs, extra) in [
        (&[][..], &["--no-profile-waivers"][..]),
        (&[("SHIPCHECK_NO_PROFILE_WAIVERS", "1")][..], &[][..]),
    ] {
        let run = check(envs, extra);
        let s = statuses(&run);
        assert_eq!(s["config.json-port"], "fail", "{envs:?} {extra:?}");
        assert_eq!(s["config.ini-sslmode"], "waived");
        let unused = &run["unused_waivers"];
        assert_eq!(unused.as_array().unwrap().len(), 1, "{unused}");
        assert_eq!(unused[0]["item"], "config.json-port");
        let why = unused[0]["why_unused"].as_str().unwrap();
        assert!(
            why.contains("--no-profile-waivers") && why.contains("shipcheck waive"),
            "{why}"
        );
    }

    let run = check(&[("SHIPCHECK_NO_PROFILE_WAIVERS", "0")], &[]);
    assert_eq!(statuses(&run)["config.json-port"], "waived", "0 is off");

    // The gate, on the run recorded with the profile's waiver: refused, the item blocks.
    let mut gate = vec!["gate"];
    gate.extend(base);
    let out = shipcheck_db(tmp.path(), db, &[], &gate);
    let accepted = stdout(&out);
    assert!(!accepted.contains("config.json-port"), "{accepted}");
    gate.push("--no-profile-waivers");
    let out = shipcheck_db(tmp.path(), db, &[], &gate);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let refused = stdout(&out);
    assert!(refused.contains("config.json-port"), "{refused}");
    // The human report says why.
    let mut args = vec!["check", "--no-profile-waivers", "--no-record"];
    args.extend(base);
    let text = stdout(&shipcheck_db(tmp.path(), db, &[], &args));
    assert!(
        text.contains("waiver for `config.json-port` unused") && text.contains("refused"),
        "{text}"
    );
}
