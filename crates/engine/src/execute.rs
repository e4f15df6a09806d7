//! The execute stage: the plan's checks on a few threads of their own ([`workers`]), each
//! under its own timeout; rate-limit bursts in a second wave after every other check.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use shipcheck_core::pack::LoadedPack;
use shipcheck_probes::{Cache, ProbeCtx};

use crate::judge::Evaluated;
use crate::plan::{At, Plan};
use crate::workers::{self, Job};
use crate::{Error, Options};

/// Default time allowed for one check.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Executes the plan's `todo` checks, at most `opts.concurrency` at once, each under its
/// timeout, and hands what each produced to `sink` with its result slot, as it finishes.
/// Checks that wait on the network or a program find a runtime entered: `opts.runtime`
/// when given (call from outside that runtime's threads), else one of the run's own,
/// started only when such a check is planned.
pub fn execute(
    plan: &Plan,
    todo: &[(usize, At)],
    base_dir: &Path,
    opts: &Options,
    sink: &mut dyn FnMut(usize, Evaluated),
) -> Result<(), Error> {
    let concurrency = opts.concurrency.max(1);
    let start_of = |at: &At| {
        plan.item(*at)
            .check
            .as_deref()
            .map_or(Start::Local, Start::of)
    };
    let patterns = |at: &At| {
        plan.item(*at)
            .check
            .as_deref()
            .map_or_else(Vec::new, |c| c.patterns())
    };
    let starts = waves(todo, start_of, patterns);
    let mut own = None;
    let handle = match &opts.runtime {
        Some(h) => Some(h.clone()),
        None if starts.iter().all(|w| w.waiting == 0) => None,
        None => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                // The checks run on threads of their own; this pool serves the blocking
                // work they start (the HTTP client's DNS lookups).
                .max_blocking_threads(concurrency + 16)
                .enable_all()
                .build()
                .map_err(Error::Runtime)?;
            Some(own.insert(rt).handle().clone())
        }
    };
    let total = todo.len();
    let packs: Arc<Vec<Arc<LoadedPack>>> = Arc::new(plan.packs.clone());
    let (vars, others) = (Arc::clone(&plan.vars), Arc::clone(&plan.others));
    let cache = Arc::new(Cache::default());
    let base_dir = base_dir.to_owned();
    if let Some(progress) = &opts.progress {
        progress(0, total);
    }
    let mut done = 0;
    let timeout = |at: At| {
        plan.item(at)
            .check
            .as_ref()
            .and_then(|c| c.timeout)
            .map_or(DEFAULT_TIMEOUT, |s| s.0)
    };
    for wave in starts {
        if wave.checks.is_empty() {
            continue;
        }
        // A local check mostly keeps a core busy; it waits only on another's read of a file
        // they share (or on a disk). Beyond two per core, more threads are only more to
        // start: on two cores, 4 threads took the demo's run 0.6 ms less than 8, and the
        // 10,000-item run as long; 2 threads made that one 8 % slower (BENCHMARKS.md).
        // A check that waits on the network or a program needs a thread, not a core.
        let threads = concurrency.min(wave.waiting + 2 * cores());
        let jobs = wave
            .checks
            .iter()
            .map(|&(idx, at)| Job {
                idx,
                what: at,
                timeout: timeout(at),
            })
            .collect();
        let (packs, vars, others, cache, base_dir) = (
            Arc::clone(&packs),
            Arc::clone(&vars),
            Arc::clone(&others),
            Arc::clone(&cache),
            base_dir.clone(),
        );
        let check = move |at: At, deadline: Instant| {
            let item = &packs[at.pack].pack.sections[at.section].items[at.item];
            let ctx = ProbeCtx {
                vars: Arc::clone(&vars),
                base_dir: base_dir.clone(),
                cache: Arc::clone(&cache),
                deadline: Some(deadline),
            };
            crate::judge::evaluate(item, &ctx, &others, &base_dir, &cache)
        };
        workers::run(jobs, threads, handle.clone(), check, &mut |idx, ev| {
            done += 1;
            sink(idx, ev);
            if let Some(progress) = &opts.progress {
                progress(done, total);
            }
        });
    }
    // A check that timed out may still run on its thread (a jq loop, a read that never
    // ends): its result is in, so do not wait for it; the process exits with it.
    if let Some(rt) = own {
        rt.shutdown_background();
    }
    Ok(())
}

/// The cores this process may use (its CPU affinity and cgroup quota), once per process.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// When a check starts, relative to the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    /// It waits on a program or the network: started first, so its wait overlaps the
    /// local checks.
    Waits,
    /// It reads local files and state.
    Local,
    /// A request burst (a rate-limit check): after every other check, so a limiter it trips
    /// cannot turn another check's request into a 429.
    Burst,
}

impl Start {
    fn of(check: &shipcheck_core::pack::Check) -> Start {
        if check.is_burst() {
            Start::Burst
        } else if check.probe().is_ok_and(|p| p.waits()) {
            Start::Waits
        } else {
            Start::Local
        }
    }
}

/// The checks in the order they start, as two waves: the bursts start only when every
/// check of the first wave has ended. The local checks that compile the most regexes not
/// compiled before them start first of their kind: the longest checks first, so that the
/// last to end is a short one (the demo's run ended with its two-regex check, started last,
/// running alone). A regex compiles once per process, so only its first check moves; the
/// others keep their places, next to the checks of the same files (moving all 2,000 regex
/// checks of the 10,000-item run made it 6 % slower). Plan order is kept otherwise (results
/// keep their places whatever the order).
fn waves<'p>(
    todo: &[(usize, At)],
    start: impl Fn(&At) -> Start,
    patterns: impl Fn(&At) -> Vec<&'p str>,
) -> [Wave; 2] {
    let mut first = Vec::with_capacity(todo.len());
    let (mut local, mut bursts) = (Vec::new(), Vec::new());
    for &(idx, at) in todo {
        match start(&at) {
            Start::Waits => first.push((idx, at)),
            Start::Local => local.push((idx, at)),
            Start::Burst => bursts.push((idx, at)),
        }
    }
    let mut compiled = std::collections::HashSet::new();
    let new_regexes: Vec<usize> = local
        .iter()
        .map(|(_, at)| {
            patterns(at)
                .into_iter()
                .filter(|p| compiled.insert(*p))
                .count()
        })
        .collect();
    let mut order: Vec<usize> = (0..local.len()).collect();
    // Stable: plan order among checks with as many new regexes.
    order.sort_by_key(|&i| std::cmp::Reverse(new_regexes[i]));
    let waiting = first.len();
    first.extend(order.into_iter().map(|i| local[i]));
    [
        Wave {
            checks: first,
            waiting,
        },
        Wave {
            waiting: bursts.len(),
            checks: bursts,
        },
    ]
}

/// Checks that start together, in the order they start.
struct Wave {
    checks: Vec<(usize, At)>,
    /// How many of them wait on the network or a program (not local).
    waiting: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_checks_start_first_and_bursts_last_in_plan_order() {
        let kinds = [
            Start::Local,
            Start::Burst,
            Start::Waits,
            Start::Local,
            Start::Waits,
            Start::Burst,
        ];
        let todo = todo(kinds.len());
        let [first, second] = waves(&todo, |a| kinds[a.item], |_| Vec::new());
        assert_eq!(ids(&first), [2, 4, 0, 3]);
        assert_eq!(ids(&second), [1, 5]);
        assert_eq!((first.waiting, second.waiting), (2, 2));
    }

    fn ids(wave: &Wave) -> Vec<usize> {
        wave.checks.iter().map(|(i, _)| *i).collect()
    }

    /// Checks 0..n, each in its own slot.
    fn todo(n: usize) -> Vec<(usize, At)> {
        let at = |item| At {
            pack: 0,
            section: 0,
            item,
        };
        (0..n).map(|i| (i, at(i))).collect()
    }

    #[test]
    fn local_checks_with_more_regexes_start_first_then_in_plan_order() {
        let kinds = [
            Start::Local,
            Start::Local,
            Start::Waits,
            Start::Local,
            Start::Local,
            Start::Local,
        ];
        let patterns: [&[&str]; 6] = [&[], &["a"], &["x", "y", "z"], &["b", "c"], &[], &["d"]];
        let todo = todo(kinds.len());
        let [first, _] = waves(&todo, |a| kinds[a.item], |a| patterns[a.item].to_vec());
        // The waiting check first whatever its regexes; then 2, 1, 1, 0, 0 regexes.
        assert_eq!(ids(&first), [2, 3, 1, 5, 0, 4]);
    }

    #[test]
    fn only_the_first_check_of_a_regex_moves() {
        // Checks 1 and 3 share a regex: 1 compiles it, 3 finds it compiled.
        let patterns: [&[&str]; 5] = [&[], &["a"], &[], &["a"], &["b"]];
        let todo = todo(patterns.len());
        let [first, _] = waves(&todo, |_| Start::Local, |a| patterns[a.item].to_vec());
        assert_eq!(ids(&first), [1, 4, 0, 2, 3]);
    }
}
