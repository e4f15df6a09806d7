//! The importer over the five source checklists: each imports to a pack that loads (what
//! `pack lint` checks), quotes every checklist line (`pack coverage` is complete), proposes
//! a check for each read-only command shown next to an item, and is snapshotted.

use shipcheck_core::pack::coverage::coverage;
use shipcheck_core::pack::load_pack_text;

const SEEDS: [&str; 5] = [
    "000_7c4f6abc7f210c31.txt",
    "001_87700b7fa0c5236d.txt",
    "002_c51f9d19346a0fdb.txt",
    "003_5361eeac42c4ffea.txt",
    "004_a5d6f5cd15417cc2.txt",
];

fn seed(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../packs/sources")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

fn options(name: &str) -> shipcheck_import::Options {
    shipcheck_import::Options {
        name: shipcheck_import::slug(name.trim_end_matches(".txt"), 40, "x"),
        document: name.into(),
    }
}

#[test]
fn each_source_checklist_imports_to_a_complete_pack() {
    for name in SEEDS {
        let text = seed(name);
        let opts = options(name);
        let imported = shipcheck_import::import(&text, &opts);
        let yaml = imported.yaml(&opts);
        let loaded = load_pack_text(name, yaml.clone())
            .unwrap_or_else(|e| panic!("{name}: the imported pack does not load: {e:?}"));
        let cov = coverage(&loaded.pack, &[(name, text.as_str())]);
        let doc = &cov.documents[0];
        assert_eq!(
            doc.uncovered,
            0,
            "{name}: {:?}",
            doc.lines
                .iter()
                .filter(|l| l.covered_by.is_empty())
                .collect::<Vec<_>>()
        );
        assert!(doc.covered > 30, "{name}: {}", doc.covered);
        // Every read-only command shown next to an item is proposed as a check of an item.
        for item in imported.items() {
            for (cmd, _, _) in &item.unproposed {
                assert!(
                    shipcheck_import::propose::propose(cmd).is_none(),
                    "{name}: `{cmd}` implies a check and none is proposed"
                );
            }
        }
        // The same document gives the same pack.
        assert_eq!(shipcheck_import::import(&text, &opts).yaml(&opts), yaml);
        insta::assert_snapshot!(name, yaml);
    }
}

#[test]
fn the_seeds_commands_become_the_checks_they_imply() {
    let proposed = |name: &str| -> Vec<String> {
        let opts = options(name);
        shipcheck_import::import(&seed(name), &opts)
            .items()
            .filter_map(|i| {
                i.proposal
                    .as_ref()
                    .map(|(p, c)| format!("{} => {}", c.text, p.check))
            })
            .collect()
    };
    let secureclaw = proposed("000_7c4f6abc7f210c31.txt");
    for want in [
        r#"jq '.gateway.token' ~/.secureclaw/secureclaw.json => {"config":{"path":"~/.secureclaw/secureclaw.json","query":".gateway.token"},"expect":[{"exists":true}]}"#,
        r#"chmod 600 ~/.secureclaw/secureclaw.json => {"file":{"path":"~/.secureclaw/secureclaw.json","mode_max":"0600"}}"#,
        r#"curl -I https://your-domain.com => {"http":{"url":"https://your-domain.com","method":"HEAD","status":[200]}}"#,
        r#"systemctl status secureclaw-gateway => {"command":{"argv":["systemctl","status","secureclaw-gateway"],"exit_code":0}}"#,
    ] {
        assert!(
            secureclaw.iter().any(|p| p == want),
            "missing {want} in {secureclaw:#?}"
        );
    }
    let ocmt = proposed("004_a5d6f5cd15417cc2.txt");
    assert!(
        ocmt.iter()
            .any(|p| p.contains(r#""headers_absent":["access-control-allow-origin"]"#)),
        "{ocmt:#?}"
    );
    // Writes are never proposed.
    for p in secureclaw.iter().chain(&ocmt) {
        assert!(
            !p.contains(" = ") && !p.contains("-X POST") && !p.contains("restart"),
            "{p}"
        );
    }
}
