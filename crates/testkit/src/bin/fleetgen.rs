//! Writes a large ledger for the server's benchmark (see `shipcheck_testkit::fleet`):
//! `fleetgen LEDGER TEMPLATE.json DEPLOYMENTS RUNS`, TEMPLATE.json being a run as
//! `shipcheck check --format json` writes it.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [ledger, template, deployments, runs] = args.as_slice() else {
        eprintln!("usage: fleetgen LEDGER TEMPLATE.json DEPLOYMENTS RUNS");
        std::process::exit(2);
    };
    let made = (|| -> Result<shipcheck_testkit::fleet::Written, String> {
        let text = std::fs::read_to_string(template).map_err(|e| format!("{template}: {e}"))?;
        let run = serde_json::from_str(&text).map_err(|e| format!("{template}: {e}"))?;
        let n = |s: &str| s.parse::<usize>().map_err(|e| format!("`{s}`: {e}"));
        shipcheck_testkit::fleet::generate(
            std::path::Path::new(ledger),
            &run,
            n(deployments)?,
            n(runs)?,
        )
    })();
    match made {
        Ok(w) => println!(
            "wrote {} records ({} MB of bodies) to {ledger}",
            w.records,
            w.bytes / 1_000_000
        ),
        Err(e) => {
            eprintln!("fleetgen: {e}");
            std::process::exit(1);
        }
    }
}
