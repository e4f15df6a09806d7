//! JSON report: the [`shipcheck_core::outcome::Run`] document, schema `shipcheck/run/v1`
//! (documented in docs/json-report.md).

use shipcheck_core::outcome::Run;

/// Pretty-printed JSON of a run.
pub fn render(run: &Run) -> String {
    let mut out = Vec::new();
    match write(run, &mut out) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(e) => format!("{{\"error\": \"cannot serialize run: {e}\"}}\n"),
    }
}

/// [`render`], streamed to `out`.
pub fn write(run: &Run, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, run).map_err(std::io::Error::from)?;
    out.write_all(b"\n")
}
