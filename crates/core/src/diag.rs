//! Located problems in a source file (pack, profile) and their rendering as annotated
//! snippets, so every error names file, line and column and shows the offending text.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, NamedSource, SourceSpan};

/// A 1-based line and column (in characters) inside a source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    /// Position of a value parsed with serde-saphyr; `None` when the parser did not know it.
    pub fn from_location(loc: &serde_saphyr::Location) -> Option<Pos> {
        let (line, column) = (loc.line() as usize, loc.column() as usize);
        (line > 0).then_some(Pos { line, column })
    }
}

/// One problem found in a file: what is wrong, where, and what was expected.
#[derive(Clone, Debug)]
pub struct Problem {
    pub message: String,
    pub pos: Option<Pos>,
    /// Short text shown under the highlighted source.
    pub label: String,
    pub help: Option<String>,
}

impl Problem {
    pub fn new(message: impl Into<String>, pos: Option<Pos>) -> Self {
        Problem {
            message: message.into(),
            pos,
            label: "here".into(),
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }
}

/// All problems found in one file, with its text for rendering snippets.
#[derive(Clone, Debug)]
pub struct SourceDiagnostics {
    /// The file's name as the user gave it (or `builtin:NAME` for embedded packs).
    pub file: String,
    pub source: Arc<String>,
    pub problems: Vec<Problem>,
    /// Secret values that occur in the source: snippets show them as `*` of equal length.
    pub masked: Vec<String>,
}

impl SourceDiagnostics {
    /// Diagnostics for `file` with no secrets to mask.
    pub fn new(file: impl Into<String>, source: Arc<String>, problems: Vec<Problem>) -> Self {
        SourceDiagnostics {
            file: file.into(),
            source,
            problems,
            masked: Vec::new(),
        }
    }

    /// The source as snippets may show it: secrets replaced by `*` (columns unchanged), and
    /// control characters escaped (a line holding one shows a little wider).
    fn shown_source(&self) -> Arc<String> {
        let safe = crate::text::printable(&self.source);
        let shown = self.masked_text(&safe);
        if shown == *self.source {
            Arc::clone(&self.source)
        } else {
            Arc::new(shown)
        }
    }

    /// Renders every problem as an annotated snippet; `color` adds ANSI styling.
    pub fn render(&self, color: bool) -> String {
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_context_lines(1)
            .with_width(100);
        let mut out = String::new();
        let source = self.shown_source();
        for problem in &self.problems {
            let diag = ProblemDiagnostic {
                message: self.headline(problem),
                source: NamedSource::new(self.file.clone(), Arc::clone(&source)),
                span: problem.pos.map(|p| span_at(&source, p)),
                label: problem.label.clone(),
                help: problem.help.as_deref().map(|h| self.masked_text(h)),
            };
            if handler.render_report(&mut out, &diag).is_err() {
                out.push_str(&diag.message);
                out.push('\n');
            }
        }
        out
    }

    /// A message with the masked secrets replaced by `*`.
    fn masked_text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in self.masked.iter().filter(|s| !s.is_empty()) {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), &"*".repeat(secret.chars().count()));
            }
        }
        out
    }

    fn headline(&self, problem: &Problem) -> String {
        let message = self.masked_text(&problem.message);
        let message = crate::text::printable(&message);
        match problem.pos {
            Some(p) => format!("{}:{}:{}: {message}", self.file, p.line, p.column),
            None => format!("{}: {message}", self.file),
        }
    }
}

impl fmt::Display for SourceDiagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", self.headline(problem))?;
            if let Some(help) = &problem.help {
                write!(f, " ({})", self.masked_text(help))?;
            }
        }
        Ok(())
    }
}

#[derive(Debug)]
struct ProblemDiagnostic {
    message: String,
    source: NamedSource<Arc<String>>,
    span: Option<SourceSpan>,
    label: String,
    help: Option<String>,
}

impl fmt::Display for ProblemDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ProblemDiagnostic {}

impl Diagnostic for ProblemDiagnostic {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.span.map(|_| &self.source as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let span = self.span?;
        Some(Box::new(std::iter::once(
            miette::LabeledSpan::new_with_span(Some(self.label.clone()), span),
        )))
    }
}

/// Byte span of the token starting at `pos` (to the end of the word or quoted scalar).
fn span_at(source: &str, pos: Pos) -> SourceSpan {
    let line_start: usize = source
        .split_inclusive('\n')
        .take(pos.line.saturating_sub(1))
        .map(str::len)
        .sum();
    let line = source[line_start.min(source.len())..]
        .split('\n')
        .next()
        .unwrap_or("");
    let col_byte = line
        .char_indices()
        .nth(pos.column.saturating_sub(1))
        .map_or(line.len(), |(i, _)| i);
    let rest = &line[col_byte..];
    let len = rest.find([',', '#', '}', ']']).unwrap_or(rest.len());
    let len = rest[..len].trim_end().len().max(1);
    SourceSpan::new(
        (line_start + col_byte).min(source.len()).into(),
        len.min(rest.len().max(1)),
    )
}

/// The closest of `candidates` to `name`, when it is close enough to be a typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// A message on one line: runs of white space (newlines included) folded to one space.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_points_at_token() {
        let src = "a: 1\nbb: hello world # c\n";
        let span = span_at(src, Pos { line: 2, column: 5 });
        assert_eq!(
            &src[span.offset()..span.offset() + span.len()],
            "hello world"
        );
    }

    #[test]
    fn render_names_file_line_and_column() {
        let mut d = SourceDiagnostics::new(
            "pack.yaml",
            Arc::new("x: hunter22\ny: 2\n".into()),
            vec![Problem::new("bad y", Some(Pos { line: 2, column: 4 }))],
        );
        d.masked.push("hunter22".into());
        let out = d.render(false);
        assert!(out.contains("pack.yaml:2:4: bad y"), "{out}");
        assert!(out.contains("y: 2"), "{out}");
        assert!(
            out.contains("x: ********") && !out.contains("hunter22"),
            "{out}"
        );
    }
}
