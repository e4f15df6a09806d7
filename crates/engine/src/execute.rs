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
    let mut own = None;
    let handle = match &opts.runtime {
        Some(h) => Some(h.clone()),
        None if todo.iter().all(|(_, at)| start_of(at) == Start::Local) => None,
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
    let starts = waves(todo, start_of);
    for wave in starts {
        if wave.is_empty() {
            continue;
        }
        let jobs = wave
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
        workers::run(jobs, concurrency, handle.clone(), check, &mut |idx, ev| {
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
/// check of the first wave has ended. Plan order is kept within each kind of start
/// (results keep their places whatever the order).
fn waves(todo: &[(usize, At)], start: impl Fn(&At) -> Start) -> [Vec<(usize, At)>; 2] {
    let mut first = Vec::with_capacity(todo.len());
    let (mut local, mut bursts) = (Vec::new(), Vec::new());
    for &(idx, at) in todo {
        match start(&at) {
            Start::Waits => first.push((idx, at)),
            Start::Local => local.push((idx, at)),
            Start::Burst => bursts.push((idx, at)),
        }
    }
    first.append(&mut local);
    [first, bursts]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_checks_start_first_and_bursts_last_in_plan_order() {
        let at = |item| At {
            pack: 0,
            section: 0,
            item,
        };
        let kinds = [
            Start::Local,
            Start::Burst,
            Start::Waits,
            Start::Local,
            Start::Waits,
            Start::Burst,
        ];
        let todo: Vec<(usize, At)> = (0..kinds.len()).map(|i| (i, at(i))).collect();
        let [first, second] = waves(&todo, |a| kinds[a.item]);
        let ids = |w: &[(usize, At)]| w.iter().map(|(i, _)| *i).collect::<Vec<_>>();
        assert_eq!(ids(&first), [2, 4, 0, 3]);
        assert_eq!(ids(&second), [1, 5]);
    }
}
