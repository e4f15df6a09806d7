//! Runs the TLS and HTTP zoo (see `shipcheck_testkit::zoo`) until killed, for benchmarks:
//! `cargo run -p shipcheck-testkit --bin zoo -- DIR`. Writes `DIR/tls-targets.yaml` and
//! `DIR/http-targets.yaml` (targets files for `shipcheck probe`) and `DIR/ready`.

fn main() {
    let Some(dir) = std::env::args().nth(1).map(std::path::PathBuf::from) else {
        eprintln!("usage: zoo DIR");
        std::process::exit(2);
    };
    let run = || -> Result<shipcheck_testkit::zoo::Zoo, String> {
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let zoo = shipcheck_testkit::zoo::start(&dir)?;
        let write = |name: &str, text: String| {
            std::fs::write(dir.join(name), text).map_err(|e| format!("{name}: {e}"))
        };
        write("tls-targets.yaml", zoo.tls_targets())?;
        write("http-targets.yaml", zoo.http_targets())?;
        write("ready", String::new())?;
        Ok(zoo)
    };
    match run() {
        Ok(_zoo) => loop {
            std::thread::park();
        },
        Err(e) => {
            eprintln!("zoo: {e}");
            std::process::exit(1);
        }
    }
}
