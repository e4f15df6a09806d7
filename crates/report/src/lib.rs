//! Renderers of a [`shipcheck_core::outcome::Run`]. Every format reads the one result model, so no
//! format can show something another contradicts.

pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod prometheus;
pub mod sarif;

/// Report formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Junit,
    Markdown,
    Html,
    /// Gauges in the Prometheus text format (OpenMetrics), for node_exporter's textfile
    /// collector.
    Prometheus,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "human" => Format::Human,
            "json" => Format::Json,
            "sarif" => Format::Sarif,
            "junit" => Format::Junit,
            "markdown" | "md" => Format::Markdown,
            "html" => Format::Html,
            "prometheus" => Format::Prometheus,
            other => {
                return Err(format!(
                    "`{other}` is not a report format (human, json, sarif, junit, markdown, html, prometheus)"
                ));
            }
        })
    }
}

/// Renders `run` in `format`. `signoffs` appear in the HTML report.
pub fn render(
    run: &shipcheck_core::outcome::Run,
    format: Format,
    style: human::Style,
    signoffs: &[shipcheck_core::statement::Signoff],
) -> String {
    match format {
        Format::Human => human::render(run, style),
        Format::Json => json::render(run),
        Format::Sarif => sarif::render(run),
        Format::Junit => junit::render(run),
        Format::Markdown => markdown::render(run),
        Format::Html => html::render(run, signoffs),
        Format::Prometheus => prometheus::render(run),
    }
}

/// Writes the report to `out`. JSON is streamed (a run of 100,000 items is about 100 MB
/// of it); the other formats are rendered, then written.
pub fn write(
    run: &shipcheck_core::outcome::Run,
    format: Format,
    style: human::Style,
    signoffs: &[shipcheck_core::statement::Signoff],
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match format {
        Format::Json => json::write(run, out),
        _ => out.write_all(render(run, format, style, signoffs).as_bytes()),
    }
}

/// Escapes text for XML and HTML, dropping characters XML 1.0 cannot carry.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(
            super::escape("<a href=\"x\">&'\u{1}"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;\u{FFFD}"
        );
    }
}
