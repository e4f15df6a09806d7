//! jq expressions (via the jaq crates), so the queries users already write
//! (`.gateway.auth.token`, `.gateway.controlUi.allowedOrigins // []`) work as written.

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data};
use jaq_json::Val;
use serde::Deserialize;
use serde_json::Value;

mod budget;
mod prune;
mod recursion;

pub use budget::{MAX_EVAL_BYTES, MAX_OUTPUT_BYTES, MAX_STEPS, set_memory_meter};
use recursion::recursive_def;

/// Most outputs kept from one evaluation.
const MAX_OUTPUTS: usize = 10_000;

/// A jq expression that failed to parse or compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JqError {
    pub message: String,
    /// Byte offset in the expression where the problem is, when known.
    pub offset: Option<usize>,
}

impl std::fmt::Display for JqError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Checks that `code` parses and compiles, without running it.
pub fn check(code: &str) -> Result<(), JqError> {
    with_filter(code, |_| ())
}

/// Runs `code` on `input` and returns its outputs (at most [`MAX_OUTPUTS`]).
pub fn eval(code: &str, input: &Value) -> Result<Vec<Value>, String> {
    eval_input(code, &Input::new(input)?)
}

/// An input converted for jq once, for several expressions on it (a plan's `when`
/// conditions all read the same variables; converting them for each condition was most of
/// the condition's cost).
pub struct Input(Val);

impl Input {
    pub fn new(input: &Value) -> Result<Input, String> {
        Val::deserialize(input)
            .map(Input)
            .map_err(|e| format!("cannot convert input: {e}"))
    }
}

/// Runs `code` on an input converted before, as [`eval`] does.
pub fn eval_input(code: &str, input: &Input) -> Result<Vec<Value>, String> {
    with_filter(code, |filter| {
        let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new([]));
        let mut out = Vec::new();
        let mut room = MAX_OUTPUT_BYTES;
        budget::start();
        for item in filter.id.run((ctx, input.0.clone())).take(MAX_OUTPUTS) {
            match item {
                Ok(v) => out.push(to_json(&v, &mut room)?),
                Err(exn) => {
                    return Err(match exn.get_err() {
                        Ok(e) => format!("jq error: {e}"),
                        Err(other) => match other.get_halt() {
                            Ok(code) => format!("jq halted with code {code}"),
                            Err(_) => "jq error".to_string(),
                        },
                    });
                }
            }
        }
        Ok(out)
    })
    .map_err(|e| format!("invalid jq `{code}`: {e}"))?
}

/// The first output of `code` on `input` (`null` when there is none).
pub fn first(code: &str, input: &Value) -> Result<Value, String> {
    first_of(code, &Input::new(input)?)
}

/// The first output of `code` on an input converted before (`null` when there is none).
pub fn first_of(code: &str, input: &Input) -> Result<Value, String> {
    Ok(eval_input(code, input)?
        .into_iter()
        .next()
        .unwrap_or(Value::Null))
}

/// The one output of a query whose value is judged (`null` when there is none). Several
/// outputs are an error, never the first judged: `.listeners[].tls` would pass when only
/// the first listener has TLS.
pub fn single(code: &str, input: &Value) -> Result<Value, String> {
    let mut out = eval(code, input)?;
    match out.len() {
        0 => Ok(Value::Null),
        1 => Ok(out.pop().unwrap_or(Value::Null)),
        n => Err(format!(
            "the query `{code}` gives {n} values, and which one to judge cannot be told: collect them with `[{code}]`, or pick one with `first({code})`"
        )),
    }
}

/// Whether a condition holds: it gives at least one output, and every output is true (a
/// condition over several values holds for all of them).
pub fn holds(code: &str, input: &Value) -> Result<bool, String> {
    let out = eval(code, input)?;
    Ok(!out.is_empty() && out.iter().all(truthy))
}

/// Whether any output of `code` on an input converted before is true: a `when` applies an
/// item unless every output says it does not (a condition that is partly true is not read
/// as "does not apply").
pub fn any_of(code: &str, input: &Input) -> Result<bool, String> {
    Ok(eval_input(code, input)?.iter().any(truthy))
}

/// jq truthiness: everything but `false` and `null` is true.
pub fn truthy(v: &Value) -> bool {
    !matches!(v, Value::Null | Value::Bool(false))
}

/// `v` as JSON, its text counted against the evaluation's output budget `room`.
fn to_json(v: &Val, room: &mut usize) -> Result<Value, String> {
    use std::fmt::Write;
    let mut capped = budget::CappedText {
        text: String::new(),
        room: *room,
    };
    write!(capped, "{v}").map_err(|_| {
        format!(
            "jq budget exceeded: the outputs take more than {} MiB",
            MAX_OUTPUT_BYTES >> 20
        )
    })?;
    *room = capped.room;
    let text = capped.text;
    serde_json::from_str(&text).or_else(|_| Ok(Value::String(text)))
}

type JaqFilter = jaq_core::Filter<data::JustLut<Val>>;

/// Compiled expressions kept, by their text.
const MAX_CACHED: usize = 1024;

/// Each distinct expression is compiled once per process (loading validates it, then every
/// worker thread evaluates it: a compile that names a standard filter costs about half a
/// millisecond), then shared. Only expressions that compiled are kept; the cache is emptied
/// when full. A compile runs outside the lock.
static CACHE: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<JaqFilter>>>,
> = std::sync::LazyLock::new(Default::default);

thread_local! {
    static COMPILES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many expressions this thread has compiled (the cache's misses), for tests.
pub fn compiles() -> u64 {
    COMPILES.with(|c| c.get())
}

fn cache()
-> std::sync::MutexGuard<'static, std::collections::HashMap<String, std::sync::Arc<JaqFilter>>> {
    CACHE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn with_filter<T>(code: &str, f: impl FnOnce(&JaqFilter) -> T) -> Result<T, JqError> {
    let cached = cache().get(code).cloned();
    if let Some(filter) = cached {
        return Ok(f(&filter));
    }
    let filter = std::sync::Arc::new(compile(code)?);
    COMPILES.with(|c| c.set(c.get() + 1));
    {
        let mut cache = cache();
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(code.to_string(), std::sync::Arc::clone(&filter));
    }
    Ok(f(&filter))
}

/// Parses the standard definitions and indexes them for pruning now: about 1 ms, once per
/// process, otherwise paid by the first check whose expression names a filter. A run calls
/// it on a thread of its own while it reads its profile and packs, on a core that would
/// idle (`shipcheck_engine::run`).
pub fn prewarm() {
    prune::index();
}

/// jaq's standard definitions and the budget's prelude, parsed once per process.
fn standard_defs() -> &'static [Def] {
    static DEFS: std::sync::OnceLock<Vec<Def>> = std::sync::OnceLock::new();
    DEFS.get_or_init(|| {
        jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs())
            .chain(budget::prelude().iter().cloned())
            .collect()
    })
}

/// Parses and compiles `code`, refusing what could not end within the budgets.
fn compile(code: &str) -> Result<JaqFilter, JqError> {
    if let Some((name, offset)) = recursive_def(code) {
        return Err(JqError {
            message: format!(
                "`{name}` calls itself: shipcheck does not run recursive jq definitions (an unbounded recursion would exhaust the stack)"
            ),
            offset: Some(offset),
        });
    }
    if let Some((what, offset)) = budget::never_ends(code) {
        return Err(JqError {
            message: format!("{what} cannot end within the jq budget of {MAX_STEPS} loop steps"),
            offset: Some(offset),
        });
    }
    // Most pack queries are paths and comparisons (`.gateway.auth.token`, `.a // []`,
    // `. == "x"`) that name no filter at all. Compiling them without the standard
    // definitions skips most of the cost of a compile (jaq compiles every definition it is
    // given). An expression that names a filter does not compile bare; it is compiled with
    // the definitions it can reach (see `prune`), and, should that fail, with all of them,
    // whose error is the one reported.
    compile_with(code, std::iter::empty(), std::iter::empty())
        .or_else(|_| compile_with(code, prune::reachable(code), all_funs()))
        .or_else(|_| compile_full(code))
}

/// jaq's native filters and the budget's.
fn all_funs() -> impl Iterator<Item = jaq_core::native::Fun<data::JustLut<Val>>> {
    jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs())
        .chain(budget::funs())
}

/// Compiles `code` with jaq's standard definitions and native filters and the budget's.
fn compile_full(code: &str) -> Result<JaqFilter, JqError> {
    compile_with(code, standard_defs().iter().cloned(), all_funs())
}

type Def = jaq_core::load::parse::Def<&'static str>;

/// Loads and compiles `code` with the definitions `defs` and native filters `funs`.
fn compile_with(
    code: &str,
    defs: impl IntoIterator<Item = Def>,
    funs: impl IntoIterator<Item = jaq_core::native::Fun<data::JustLut<Val>>>,
) -> Result<JaqFilter, JqError> {
    let loader = Loader::new(defs);
    let arena = Arena::default();
    let program = File { code, path: () };
    let modules = loader.load(&arena, program).map_err(|errs| {
        let mut first = None;
        let mut messages = Vec::new();
        for (_, err) in errs {
            match err {
                jaq_core::load::Error::Io(items) => {
                    messages.extend(items.into_iter().map(|(_, m)| m));
                }
                jaq_core::load::Error::Lex(items) => {
                    for (expect, at) in items {
                        first = first.or(offset_in(code, at));
                        messages.push(format!("expected {} {}", expect.as_str(), near(at)));
                    }
                }
                jaq_core::load::Error::Parse(items) => {
                    for (expect, at) in items {
                        first = first.or(offset_in(code, at));
                        messages.push(format!("expected {} {}", expect.as_str(), near(at)));
                    }
                }
            }
        }
        JqError {
            message: format!("syntax error: {}", messages.join("; ")),
            offset: first,
        }
    })?;
    let filter = Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|errs| {
            let mut first = None;
            let mut messages = Vec::new();
            for (_, items) in errs {
                for (name, undefined) in items {
                    first = first.or(offset_in(code, name));
                    messages.push(format!("undefined {} `{name}`", undefined.as_str()));
                }
            }
            JqError {
                message: messages.join("; "),
                offset: first,
            }
        })?;
    Ok(filter)
}

/// Where `part` starts in `code`; `None` when it is not in it (an undefined name in a
/// standard definition's body: `jaq_core::load::span` would underflow).
fn offset_in(code: &str, part: &str) -> Option<usize> {
    let (whole, at) = (code.as_ptr() as usize, part.as_ptr() as usize);
    (at >= whole && at + part.len() <= whole + code.len()).then(|| at - whole)
}

fn near(at: &str) -> String {
    if at.is_empty() {
        "at end of expression".into()
    } else {
        let shown: String = at.chars().take(12).collect();
        format!("near `{shown}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_is_given_only_for_text_in_the_expression() {
        let code = ".a | foo";
        assert_eq!(offset_in(code, &code[5..]), Some(5));
        assert_eq!(offset_in(code, "foo"), None);
    }

    #[test]
    fn an_input_converted_once_gives_every_expression_what_converting_it_each_time_does() {
        let value = serde_json::json!({"vars": {"mode": "config", "n": 3, "list": ["a", "b"]}, "environment": "prod"});
        let input = Input::new(&value).unwrap();
        for code in [
            ".vars.mode == \"config\"",
            ".vars.n > 2 and .environment == \"prod\"",
            ".vars.list | map(ascii_upcase)",
            ".vars.missing",
            "empty",
            "error(\"no\")",
        ] {
            assert_eq!(first_of(code, &input), first(code, &value), "{code}");
            assert_eq!(eval_input(code, &input), eval(code, &value), "{code}");
        }
        // The input is not consumed: a second use sees it whole.
        assert_eq!(first_of(".vars.n", &input).unwrap(), serde_json::json!(3));
    }

    #[test]
    fn an_expression_is_compiled_once_and_gives_the_same_results() {
        let input = serde_json::json!({"a": {"b": [1, 2, 3]}});
        let code = ".a.b | map(. * 10) | add";
        let before = compiles();
        for _ in 0..50 {
            assert_eq!(first(code, &input).unwrap(), serde_json::json!(60));
        }
        assert_eq!(compiles() - before, 1, "compiled once, reused 49 times");
        // Another thread (a check's worker, after the load validated it) reuses it too.
        let other = std::thread::spawn(move || {
            let r = first(code, &input).unwrap();
            (r, compiles())
        })
        .join()
        .unwrap();
        assert_eq!(other, (serde_json::json!(60), 0));
        // Another input, the same compiled expression.
        assert_eq!(
            first(code, &serde_json::json!({"a": {"b": [5]}})).unwrap(),
            serde_json::json!(50)
        );
        assert_eq!(compiles() - before, 1);
        // An expression that does not compile is not kept: it fails every time.
        for _ in 0..2 {
            assert!(check(".a |").is_err());
        }
        assert_eq!(compiles() - before, 1);
    }

    /// Every output of `filter` on `input`, or the error's text.
    fn run(filter: &JaqFilter, input: &Value) -> Result<Vec<String>, String> {
        let input = Val::deserialize(input).map_err(|e| e.to_string())?;
        let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new([]));
        filter
            .id
            .run((ctx, input))
            .map(|r| r.map(|v| v.to_string()).map_err(|e| format!("{e:?}")))
            .collect()
    }

    #[test]
    fn expressions_naming_no_filter_compile_bare_with_the_same_results() {
        let inputs = [
            json!({"a": {"b": [1, "x", null]}, "c": "x", "n": 5}),
            json!([1, 2]),
            json!("text"),
            json!(null),
        ];
        for code in [
            ".a.b",
            ".a.b[1]",
            ".a.b[]",
            ".a // []",
            ".c == \"x\"",
            ".n <= 100 and .n > 1",
            ".missing.deep",
            "[.a.b[] | . == 1]",
            "{k: .c, m: .n}",
            "\"at \\(.n)\"",
            "if .c then .n + 1 else -1 end",
            "reduce .a.b[] as $x (0; . + 1)",
            ".a?.b?",
            "try .c.d catch \"no\"",
            "def f: .n; f * 2",
            // jaq compiles `..` natively, with or without the definitions.
            "[..]",
        ] {
            let bare = compile_with(code, std::iter::empty(), std::iter::empty())
                .unwrap_or_else(|e| panic!("{code} compiles bare: {e}"));
            let full = compile_full(code).unwrap();
            for input in &inputs {
                assert_eq!(run(&bare, input), run(&full, input), "{code} on {input}");
            }
        }
        // Anything naming a filter (a native one or a definition) needs the standard set,
        // where the step budget's definitions are.
        for code in [
            "length",
            ".a | keys",
            "[range(3)]",
            "recurse",
            "not",
            ".a | tostring",
        ] {
            assert!(
                compile_with(code, std::iter::empty(), std::iter::empty()).is_err(),
                "{code} must not compile bare"
            );
            assert!(check(code).is_ok(), "{code}");
        }
    }

    /// Compiled with only the definitions it reaches, an expression gives what it gives with
    /// all of them: results, errors and the step budget.
    #[test]
    fn expressions_compiled_with_the_definitions_they_reach_give_the_same_results() {
        let inputs = [
            json!({"a": {"b": [1, "x", null, 2.5]}, "c": "Hello, World", "n": 5, "e": {}}),
            json!([3, 1, 2, 2]),
            json!("a,b,c"),
            json!(null),
            json!([{"k": "x", "v": 1}, {"k": "y", "v": 2}]),
        ];
        let codes = [
            "length",
            "keys",
            "[.[]?] | map(type)",
            "map(select(. != null))",
            "to_entries",
            "to_entries | from_entries",
            "with_entries(.value |= tostring)",
            ".c | test(\"world\"; \"i\")",
            ".c | ascii_downcase | split(\", \") | join(\"-\")",
            ".c | sub(\"l+\"; \"L\")",
            ".c | gsub(\"o\"; \"0\")",
            ".c | [scan(\"[A-Z]\")]",
            ".c | capture(\"(?<first>\\\\w+)\")",
            ".c | startswith(\"He\"), endswith(\"d\"), ltrimstr(\"He\")",
            "any, all",
            "any(.[]?; . == 1)",
            "first, last",
            "first(.[]?)",
            "[limit(2; .[]?)]",
            "[range(3)], [range(1; 4)], [range(0; 10; 3)]",
            "[paths]",
            "[paths(type == \"number\")]",
            "getpath([\"a\", \"b\"])",
            "del(.a)",
            "has(\"a\")",
            "[.[]?] | add",
            "[.[]?] | min, max",
            "[.[]?] | sort, unique",
            "sort_by(.v?)",
            "group_by(.k?)",
            "tostring, tojson",
            "tojson | fromjson",
            "@base64, @json, @text, @csv?",
            "@base64 \"v: \\(.)\"",
            ".c | explode | implode",
            "[recurse] | length",
            "[.. | numbers]",
            "[.. | strings]",
            "walk(if type == \"number\" then . + 1 else . end)",
            "[leaf_paths]",
            "until(. == null or (type == \"number\" and . > 100); if type == \"number\" then . * 2 else null end)",
            "[limit(3; repeat(1))]",
            "[while(type == \"number\" and . < 4; . + 1)]?",
            "try error(\"boom\") catch .",
            "error(\"boom\")",
            "not",
            "if .n? then .n + 1 else empty end",
            "tostream",
            "[splits(\",\")]?",
            "indices(1)?",
            "inside([1, 2, 3, 4])?",
            "contains(\"a\")?",
            "ascii?",
            "values",
            "nulls, booleans, iterables, scalars",
            "isvalid(.a)?",
            "env | type",
            "$ENV | type",
            "splits(\"x\")?",
            "map_values(. )?",
            "min_by(.v?)?, max_by(.v?)?",
            "unique_by(.k?)?",
            "[.[]?] | flatten",
            "input_line_number?",
            "last(range(2000000))",
            "[range(1e7)] | length",
        ];
        for code in codes {
            let full = compile_full(code);
            let pruned = compile_with(code, prune::reachable(code), all_funs());
            match (&full, &pruned) {
                (Ok(full), Ok(pruned)) => {
                    // The two that exhaust the step budget, on one input (a debug build
                    // takes seconds for a million steps).
                    let some = if code.contains("range(2000000)") || code.contains("1e7") {
                        &inputs[..1]
                    } else {
                        &inputs[..]
                    };
                    for input in some {
                        budget::start();
                        let a = run(full, input);
                        budget::start();
                        let b = run(pruned, input);
                        assert_eq!(a, b, "{code} on {input}");
                    }
                }
                (Err(_), Err(_)) => {}
                _ => panic!(
                    "{code}: compiles with all definitions: {}, with those it reaches: {}",
                    full.is_ok(),
                    pruned.is_ok()
                ),
            }
            assert!(
                prune::reachable(code).len() < standard_defs().len() / 2,
                "{code} reaches {} of {} definitions",
                prune::reachable(code).len(),
                standard_defs().len()
            );
        }
    }

    /// A judged value is the query's one output: several are an error, never the first;
    /// a condition holds for all of its outputs.
    #[test]
    fn several_outputs_are_never_judged_by_the_first() {
        let doc = json!({"listeners": [{"tls": true}, {"tls": false}]});
        let e = single(".listeners[].tls", &doc).unwrap_err();
        assert!(
            e.contains("gives 2 values") && e.contains("[.listeners[].tls]"),
            "{e}"
        );
        assert_eq!(single("[.listeners[].tls]", &doc), Ok(json!([true, false])));
        assert_eq!(single(".missing", &doc), Ok(Value::Null));
        assert_eq!(single("empty", &doc), Ok(Value::Null));
        assert_eq!(holds(".listeners[].tls", &doc), Ok(false));
        assert_eq!(holds(".listeners[0].tls", &doc), Ok(true));
        assert_eq!(holds("empty", &doc), Ok(false));
        let input = Input::new(&doc).unwrap();
        assert_eq!(any_of(".listeners[].tls", &input), Ok(true));
        assert_eq!(any_of("empty", &input), Ok(false));
    }

    #[test]
    fn recursive_definitions_are_refused() {
        for code in [
            "def f: f; f",
            "def f: [f]; f",
            "def f: 1 + f; f",
            "def g(x): x | g(x); g(.)",
        ] {
            let e = check(code).unwrap_err();
            assert!(e.message.contains("calls itself"), "{code}: {e}");
        }
        for code in [
            "def f: 1; f + f",
            "def secs: if type == \"number\" then . else 10 end; .a | secs",
            ".f as $f | $f",
            "def f: \"f\"; f",
            "def f: .f; f",
        ] {
            assert!(check(code).is_ok(), "{code}");
        }
    }
    use serde_json::json;

    #[test]
    fn runs_the_queries_checklists_use() {
        let doc = json!({"gateway": {"auth": {"token": "abc"}, "controlUi": {}}});
        assert_eq!(first(".gateway.auth.token", &doc).unwrap(), json!("abc"));
        assert_eq!(
            first(".gateway.controlUi.allowedOrigins // []", &doc).unwrap(),
            json!([])
        );
        assert_eq!(first(".missing.deep", &doc).unwrap(), Value::Null);
        assert_eq!(first(". <= 100", &json!(50)).unwrap(), json!(true));
        assert_eq!(
            first("[.[] | select(. == \"*\")] | length", &json!(["a", "*"])).unwrap(),
            json!(1)
        );
    }

    #[test]
    fn reports_syntax_and_undefined_errors() {
        let e = check(".a | ").unwrap_err();
        assert!(e.message.contains("syntax error"), "{e:?}");
        let e = check("nosuchfn(1)").unwrap_err();
        assert!(e.message.contains("undefined"), "{e:?}");
        assert_eq!(e.offset, Some(0));
    }

    #[test]
    fn runtime_errors_and_halt_do_not_exit() {
        assert!(eval("error(\"x\")", &json!(1)).is_err());
        assert!(eval("halt", &json!(1)).is_err());
        assert_eq!(eval("repeat(1)", &json!(1)).unwrap().len(), MAX_OUTPUTS);
    }

    #[test]
    fn text_outside_ascii_is_an_error_not_a_panic() {
        // Found by the `pack` fuzz target: a `when` starting with U+FFFD panicked the
        // recursion scan (a byte slice inside a character).
        for code in [
            "\u{fffd}\u{fffd}.vars.gateway_url != \"\"",
            "€",
            ".a | é",
            "\"\\€\" | é",
        ] {
            assert!(check(code).is_err(), "{code}");
        }
        assert!(check("\"€\" | length").is_ok());
        assert_eq!(first(".\"clé\"", &json!({"clé": 1})).unwrap(), json!(1));
    }

    #[test]
    fn the_prelude_compiles() {
        // An empty prelude (a parse failure) would silently drop the step budget.
        assert_eq!(budget::prelude().len(), 13);
    }

    #[test]
    fn loops_end_within_the_step_budget() {
        // Bounds from the input, so that the load-time refusal cannot see them.
        let input = json!({"n": 1e9, "t": true, "f": false});
        for code in [
            "[range(.n)] | length",
            "last(range(.n * 1000))",
            "until(.f; .)",
            "[limit(.n; repeat(1))] | length",
            ".n | last(recurse(. + 1))",
            "[while(.t; .)] | length",
            "[range(0; .n; 0.5)] | length",
            "[.n | combinations(.)] | length",
        ] {
            let e = eval(code, &input).unwrap_err();
            assert!(e.contains("jq budget exceeded"), "{code}: {e}");
            assert!(e.contains("loop steps"), "{code}: {e}");
        }
        // The ordinary uses stay within it.
        assert_eq!(
            first("[range(5)]", &json!(0)).unwrap(),
            json!([0, 1, 2, 3, 4])
        );
        assert_eq!(
            first("[range(1; 7; 2)]", &json!(0)).unwrap(),
            json!([1, 3, 5])
        );
        assert_eq!(
            first("[.. | numbers]", &json!({"a": [1, {"b": 2}]})).unwrap(),
            json!([1, 2])
        );
        assert_eq!(
            first("[limit(3; repeat(1))]", &json!(0)).unwrap(),
            json!([1, 1, 1])
        );
        assert_eq!(
            first("[.[] | until(. > 100; . * 2)]", &json!([1, 3])).unwrap(),
            json!([128, 192])
        );
        assert_eq!(
            first("[[1,2],[3]] | flatten", &json!(0)).unwrap(),
            json!([1, 2, 3])
        );
        assert_eq!(
            first("[[1,2],[3]] | transpose", &json!(0)).unwrap(),
            json!([[1, 3], [2, null]])
        );
        assert_eq!(
            first("[range(.)] | length", &json!(MAX_STEPS)).unwrap(),
            json!(MAX_STEPS)
        );
    }

    #[test]
    fn loops_that_provably_never_end_are_refused_at_load() {
        for (code, at) in [
            ("until(false; .)", 0),
            (".a | until( false ;.+1)", 5),
            ("[while(true; .)]", 1),
            ("[range(1e9)]", 1),
            ("last(range(0; 20000000))", 5),
            ("range(5; 1e7; 1)", 0),
        ] {
            let e = check(code).unwrap_err();
            assert!(e.message.contains("cannot end within"), "{code}: {e}");
            assert_eq!(e.offset, Some(at), "{code}");
        }
        for code in [
            "until(. > 3; . + 1)",
            "[range(100)]",
            "range(.n)",
            "[range(1; 1000; 2)]",
            "\"until(false;\"",
        ] {
            assert!(check(code).is_ok(), "{code}");
        }
    }

    #[test]
    fn outputs_are_capped_in_size() {
        // 2^40 elements once printed, from 40 shared pairs.
        let e = eval("reduce range(40) as $i (1; [., .])", &json!(0)).unwrap_err();
        assert!(e.contains("outputs take more than"), "{e}");
    }
}
