//! Runs the loopback stand-in of a fixture deployment until killed:
//! `cargo run -p shipcheck-testkit --bin standin -- SPEC.json ENV_OUT`. Writes `STANDIN_PORT_<NAME>=port`
//! lines and `STANDIN_CA=path` to ENV_OUT (the CA next to it), for a shipcheck run.

use shipcheck_testkit::standin;

use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(spec), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: standin SPEC.json ENV_OUT");
        std::process::exit(2);
    };
    let out = PathBuf::from(out);
    let run = || -> Result<standin::Standin, String> {
        let s = standin::start(standin::load(std::path::Path::new(&spec))?)?;
        let dir = out.parent().map(PathBuf::from).unwrap_or_default();
        let lines: String = s
            .env(&dir)
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        std::fs::write(&out, lines).map_err(|e| format!("{}: {e}", out.display()))?;
        Ok(s)
    };
    match run() {
        Ok(_s) => loop {
            std::thread::park();
        },
        Err(e) => {
            eprintln!("standin: {e}");
            std::process::exit(1);
        }
    }
}
