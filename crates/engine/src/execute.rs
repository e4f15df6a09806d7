//! The execute stage: the plan's checks on a bounded concurrent pool, each on a blocking
//! worker under its own timeout; rate-limit bursts in a second wave after every other check.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use shipcheck_core::pack::LoadedPack;
use shipcheck_probes::{Cache, ProbeCtx};

use crate::judge::{Evaluated, failed};
use crate::plan::{At, Plan};
use crate::{Error, Options};

/// Default time allowed for one check.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Executes the plan's `todo` checks on a bounded pool, each under its timeout, and hands
/// what each produced to `sink` with its result slot, as it finishes. Uses `opts.runtime` when given (call from outside
/// that runtime's threads), else a runtime of its own.
pub fn execute(
    plan: &Plan,
    todo: &[(usize, At)],
    base_dir: &Path,
    opts: &Options,
    sink: &mut dyn FnMut(usize, Evaluated),
) -> Result<(), Error> {
    let concurrency = opts.concurrency.max(1);
    let mut own = None;
    let handle = match &opts.runtime {
        Some(h) => h.clone(),
        None => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                // Our jobs are bounded by the semaphore below; the rest of the pool serves
                // the blocking work they start themselves (DNS lookups of the HTTP client).
                .max_blocking_threads(concurrency + 16)
                .enable_all()
                .build()
                .map_err(Error::Runtime)?;
            own.insert(rt).handle().clone()
        }
    };
    let total = todo.len();
    let packs: Arc<Vec<Arc<LoadedPack>>> = Arc::new(plan.packs.clone());
    let (vars, others) = (&plan.vars, &plan.others);
    let cache = &Arc::new(Cache::default());
    let base_dir = base_dir.to_owned();
    let result = handle.block_on(async {
        if let Some(progress) = &opts.progress {
            progress(0, total);
        }
        let mut set = tokio::task::JoinSet::new();
        let mut done = 0;
        let starts = waves(todo, |at| {
            packs[at.pack].pack.sections[at.section].items[at.item]
                .check
                .as_deref()
                .map_or(Start::Local, Start::of)
        });
        for wave in starts {
            // At most `concurrency` checks in flight; the next is started as one ends (not
            // all spawned at once: 100,000 waiting tasks held memory for nothing).
            let mut wave = wave.into_iter();
            loop {
                while set.len() < concurrency {
                    let Some((idx, at)) = wave.next() else { break };
                    set.spawn(one(idx, at, &packs, vars, others, cache, &base_dir));
                }
                let Some(joined) = set.join_next().await else {
                    break;
                };
                if let Ok((idx, ev)) = joined {
                    done += 1;
                    sink(idx, ev);
                }
                if let Some(progress) = &opts.progress {
                    progress(done, total);
                }
            }
        }
        Ok(())
    });
    // A check that timed out may still run on a blocking thread (a jq loop, a read that
    // never ends): its result is in, so do not wait for it; the process exits with it.
    if let Some(rt) = own {
        rt.shutdown_background();
    }
    result
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

/// The task that checks one item, within its timeout.
fn one(
    idx: usize,
    at: At,
    packs: &Arc<Vec<Arc<LoadedPack>>>,
    vars: &Arc<BTreeMap<String, String>>,
    others: &Arc<crate::plan::OtherEnvs>,
    cache: &Arc<Cache>,
    base_dir: &Path,
) -> impl std::future::Future<Output = (usize, Evaluated)> + Send + 'static {
    let (packs, vars, others, cache) = (
        Arc::clone(packs),
        Arc::clone(vars),
        Arc::clone(others),
        Arc::clone(cache),
    );
    let base_dir = base_dir.to_owned();
    async move {
        let started = Instant::now();
        let item_timeout = {
            let item = &packs[at.pack].pack.sections[at.section].items[at.item];
            item.check
                .as_ref()
                .and_then(|c| c.timeout)
                .map_or(DEFAULT_TIMEOUT, |s| s.0)
        };
        let job = tokio::task::spawn_blocking(move || {
            let lp = &packs[at.pack];
            let item = &lp.pack.sections[at.section].items[at.item];
            let ctx = ProbeCtx {
                vars,
                base_dir: base_dir.clone(),
                cache: Arc::clone(&cache),
                deadline: Some(started + item_timeout),
            };
            crate::judge::evaluate(item, &ctx, &others, &base_dir, &cache)
        });
        let mut ev = match tokio::time::timeout(item_timeout, job).await {
            Ok(Ok(ev)) => ev,
            Ok(Err(join)) => failed(format!("the check crashed: {join}")),
            Err(_) => failed(format!(
                "did not finish within {}",
                shipcheck_core::duration::Span(item_timeout)
            )),
        };
        ev.duration = started.elapsed();
        (idx, ev)
    }
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
