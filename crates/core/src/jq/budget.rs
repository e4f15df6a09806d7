//! The budget one jq evaluation runs under: steps, memory and output size.
//!
//! jaq has no step or memory limit of its own, and a pack's expression can loop for ever
//! (`until(false; .)`, `last(range(1e12))`) or build a huge value (`[range(1e9)]`). Every
//! loop in jq goes through a generator (`range`, `repeat`, `recurse`, `while`, `until`),
//! since shipcheck refuses recursive definitions of its own (see `recursion`). The
//! [`PRELUDE`] redefines those generators so that each iteration passes through the native
//! `__step`, which counts the step and, when the binary meters allocation (see
//! [`set_memory_meter`]), checks the memory the evaluation holds. Over budget, `__step`
//! raises a jq error, which ends the evaluation as an item `error`.
//!
//! What the budget cannot see: one operation that allocates a lot at once (`"x" * 1e9`), or a
//! loop-free expression that doubles a value for each element of a large input. The first
//! allocation is bounded by the number jq is given; the second by the input's size.

use std::cell::Cell;
use std::sync::OnceLock;

use jaq_core::native::{Fun, run, v};
use jaq_core::{Error, data};
use jaq_json::Val;

/// Most loop steps one evaluation may take.
pub const MAX_STEPS: u64 = 1_000_000;

/// Most bytes one evaluation may hold beyond what its thread held when it started, when the
/// binary meters allocation.
pub const MAX_EVAL_BYTES: isize = 256 << 20;

/// Most bytes of text one evaluation's outputs may take together.
pub const MAX_OUTPUT_BYTES: usize = 16 << 20;

/// Generators redefined after jaq's own definitions, so that each iteration is a step.
/// `__range` keeps jaq's native `range/3` under another name before it is shadowed.
pub(super) const PRELUDE: &str = r#"
def __range($from; $upto; $by): range($from; $upto; $by);
def range($from; $upto; $by): __range($from; $upto; $by) | __step;
def range($from; $upto): range($from; $upto; 1);
def range($upto): range(0; $upto);
def repeat(f): def rec: f, (__step | rec); rec;
def recurse(f): def rec: ., (f | __step | rec); rec;
def recurse: recurse(.[]?);
def recurse(f; cond): recurse(f | select(cond));
def while(cond; update): def rec: if cond then ., (update | __step | rec) else empty end; rec;
def until(cond; update): def rec: if cond then . else update | __step | rec end; rec;
def combinations($n): [limit($n; repeat(.))] | combinations;
def flatten: [recurse(arrays[]) | select(isarray | not)];
def transpose: [range([.[] | length] | max) as $i | [.[][$i]]];
"#;

type Data = data::JustLut<Val>;

/// The [`PRELUDE`], parsed once per process (every compile chains it after jaq's own).
pub(super) fn prelude() -> &'static [jaq_core::load::parse::Def<&'static str>] {
    static DEFS: std::sync::LazyLock<Vec<jaq_core::load::parse::Def<&'static str>>> =
        std::sync::LazyLock::new(|| {
            jaq_core::load::parse(PRELUDE, |p| p.defs()).unwrap_or_default()
        });
    &DEFS
}

static METER: OnceLock<fn() -> isize> = OnceLock::new();

thread_local! {
    static STEPS: Cell<u64> = const { Cell::new(0) };
    static BASE: Cell<isize> = const { Cell::new(0) };
}

/// Installs the function that tells how many bytes the calling thread holds. The `shipcheck`
/// binary meters its allocator and installs one; without it only steps are budgeted.
pub fn set_memory_meter(meter: fn() -> isize) {
    let _ = METER.set(meter);
}

/// Starts the budget of an evaluation on this thread.
pub(super) fn start() {
    STEPS.with(|s| s.set(0));
    let held = METER.get().map_or(0, |m| m());
    BASE.with(|b| b.set(held));
}

/// Counts one step; an error when the evaluation is over its budget.
fn step() -> Result<(), String> {
    let steps = STEPS.with(|s| {
        let n = s.get() + 1;
        s.set(n);
        n
    });
    if steps > MAX_STEPS {
        return Err(format!(
            "jq budget exceeded: more than {MAX_STEPS} loop steps (the expression may not terminate)"
        ));
    }
    if let Some(meter) = METER.get() {
        let held = meter() - BASE.with(Cell::get);
        if held > MAX_EVAL_BYTES {
            return Err(format!(
                "jq budget exceeded: the evaluation holds more than {} MiB",
                MAX_EVAL_BYTES >> 20
            ));
        }
    }
    Ok(())
}

/// A loop in `code` that provably runs past the budget, and where: `until(false; …)`,
/// `while(true; …)`, or a `range` whose literal bounds span more than [`MAX_STEPS`].
/// Hand-written: a scan of the text (strings skipped), since jaq exposes no syntax tree;
/// anything it cannot prove is left to the budget at run time.
pub(super) fn never_ends(code: &str) -> Option<(String, usize)> {
    let mut in_string = false;
    let mut escaped = false;
    for (at, c) in code.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if c == '"' {
            in_string = true;
            continue;
        }
        let word_start = at == 0
            || !code[..at]
                .ends_with(|p: char| p.is_alphanumeric() || p == '_' || p == '.' || p == '$');
        if !word_start {
            continue;
        }
        let rest = &code[at..];
        let args = |name: &str| -> Option<Vec<String>> {
            let after = rest.strip_prefix(name)?.trim_start().strip_prefix('(')?;
            let inner = &after[..after.find(')')?];
            Some(
                inner
                    .split(';')
                    .map(|a| a.split_whitespace().collect())
                    .collect(),
            )
        };
        if args("until").is_some_and(|a| a.first().is_some_and(|c| c == "false")) {
            return Some(("`until(false; …)`".into(), at));
        }
        if args("while").is_some_and(|a| a.first().is_some_and(|c| c == "true")) {
            return Some(("`while(true; …)`".into(), at));
        }
        if let Some(a) = args("range") {
            let nums: Option<Vec<f64>> = a.iter().map(|x| x.parse::<f64>().ok()).collect();
            let span = match nums.as_deref() {
                Some([to]) => Some(*to),
                Some([from, to]) => Some(to - from),
                Some([from, to, by]) if *by != 0.0 => Some((to - from) / by),
                _ => None,
            };
            if span.is_some_and(|n| n > MAX_STEPS as f64) {
                return Some((
                    format!("`range` over {} values", span.unwrap_or_default()),
                    at,
                ));
            }
        }
    }
    None
}

/// The native `__step`: passes its input through, or raises the budget error.
pub(super) fn funs() -> impl Iterator<Item = Fun<Data>> {
    [run::<Data>(("__step", v(0), |cv| {
        Box::new(std::iter::once(
            step()
                .map(|()| cv.1)
                .map_err(|m| Error::new(Val::from(m)).into()),
        ))
    }))]
    .into_iter()
}

/// A `fmt::Write` that refuses to grow past [`MAX_OUTPUT_BYTES`] in total, so printing a
/// value built from shared parts (`[.,.]` nested 60 deep) cannot exhaust memory.
pub(super) struct CappedText {
    pub text: String,
    pub room: usize,
}

impl std::fmt::Write for CappedText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if s.len() > self.room {
            return Err(std::fmt::Error);
        }
        self.room -= s.len();
        self.text.push_str(s);
        Ok(())
    }
}
