//! The checks of a wave on a few plain threads: each thread takes the next check in order
//! until none is left. A check costs no task, no hand-off to a blocking pool and no
//! runtime wake-up: tens of microseconds a check, more than most local checks take (the
//! demo's run: 2-3 ms less CPU for 37 checks; BENCHMARKS.md).
//!
//! The calling thread collects the results and keeps the time. A check past its timeout
//! is settled then as `error`. Its thread is left behind (the process ends with it) and
//! another takes its place, so a check that never returns cannot hold up the run.
//! (A hand-written pool: the crates that offer one, rayon and threadpool, neither give
//! up on a job that overruns nor replace its thread.)

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use crate::judge::{Evaluated, failed};

/// One check to run: its result slot, what to check and its time allowed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Job<T> {
    pub idx: usize,
    pub what: T,
    pub timeout: Duration,
}

enum Msg {
    Started {
        worker: usize,
        idx: usize,
        deadline: Instant,
        started: Instant,
    },
    Done {
        worker: usize,
        idx: usize,
        ev: Box<Evaluated>,
    },
}

struct Queue<T> {
    jobs: Vec<Job<T>>,
    next: AtomicUsize,
}

impl<T: Copy> Queue<T> {
    fn take(&self) -> Option<Job<T>> {
        self.jobs
            .get(self.next.fetch_add(1, Ordering::Relaxed))
            .copied()
    }
}

/// What a worker thread shares with the others.
struct Crew<T, F> {
    queue: Queue<T>,
    check: F,
    runtime: Option<tokio::runtime::Handle>,
}

/// A check that overran: the thread in it is given up.
struct Running {
    worker: usize,
    idx: usize,
    deadline: Instant,
    started: Instant,
}

/// Runs `jobs` in order on at most `threads` threads, `check(what, deadline)` each, and
/// hands each result to `on_result` as it comes (timed out ones as `error`). Threads enter
/// `runtime`, for the checks that wait on it from a blocking thread.
pub(crate) fn run<T, F>(
    jobs: Vec<Job<T>>,
    threads: usize,
    runtime: Option<tokio::runtime::Handle>,
    check: F,
    on_result: &mut dyn FnMut(usize, Evaluated),
) where
    T: Copy + Send + Sync + 'static,
    F: Fn(T, Instant) -> Evaluated + Send + Sync + 'static,
{
    let total = jobs.len();
    let threads = threads.clamp(1, total.max(1));
    let crew = Arc::new(Crew {
        queue: Queue {
            jobs,
            next: AtomicUsize::new(0),
        },
        check,
        runtime,
    });
    let (tx, rx) = mpsc::channel::<Msg>();
    let mut retired: Vec<Arc<AtomicBool>> = Vec::new();
    let mut alive = 0;
    for _ in 0..threads {
        if start_worker(&crew, &tx, &mut retired) {
            alive += 1;
        }
    }
    let mut running: Vec<Running> = Vec::new();
    let mut given_up: Vec<usize> = Vec::new();
    let mut done = 0;
    while done < total {
        if alive == 0 {
            // No thread could start (or every one is stuck and none can replace it): the
            // rest run here, one after another.
            while let Some(job) = crew.queue.take() {
                let started = Instant::now();
                on_result(
                    job.idx,
                    evaluate(&crew.check, job, started, started + job.timeout),
                );
            }
            break;
        }
        let next_deadline = running.iter().map(|r| r.deadline).min();
        let msg = match next_deadline {
            Some(d) => rx.recv_timeout(d.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        };
        match msg {
            Ok(Msg::Started {
                worker,
                idx,
                deadline,
                started,
            }) => running.push(Running {
                worker,
                idx,
                deadline,
                started,
            }),
            Ok(Msg::Done { worker, idx, ev }) => {
                running.retain(|r| r.worker != worker);
                if let Some(at) = given_up.iter().position(|&i| i == idx) {
                    // Settled when it overran; this late result is not used.
                    given_up.swap_remove(at);
                    continue;
                }
                done += 1;
                on_result(idx, *ev);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let now = Instant::now();
                let (late, on_time): (Vec<Running>, Vec<Running>) =
                    running.drain(..).partition(|r| r.deadline <= now);
                running = on_time;
                for r in late {
                    retired[r.worker].store(true, Ordering::Relaxed);
                    given_up.push(r.idx);
                    alive -= 1;
                    let allowed = r.deadline - r.started;
                    let mut ev = failed(format!(
                        "did not finish within {}",
                        shipcheck_core::duration::Span(allowed)
                    ));
                    ev.duration = now - r.started;
                    done += 1;
                    on_result(r.idx, ev);
                    if start_worker(&crew, &tx, &mut retired) {
                        alive += 1;
                    }
                }
            }
            // Every thread ended: whatever is left runs here (above).
            Err(mpsc::RecvTimeoutError::Disconnected) => alive = 0,
        }
    }
}

/// Starts one more worker; false when the system gives no thread.
fn start_worker<T, F>(
    crew: &Arc<Crew<T, F>>,
    tx: &mpsc::Sender<Msg>,
    retired: &mut Vec<Arc<AtomicBool>>,
) -> bool
where
    T: Copy + Send + Sync + 'static,
    F: Fn(T, Instant) -> Evaluated + Send + Sync + 'static,
{
    let worker = retired.len();
    let flag = Arc::new(AtomicBool::new(false));
    let (crew, tx, mine) = (Arc::clone(crew), tx.clone(), Arc::clone(&flag));
    let started = std::thread::Builder::new()
        .name("shipcheck-check".into())
        .spawn(move || {
            let _runtime = crew.runtime.as_ref().map(|h| h.enter());
            while let Some(job) = crew.queue.take() {
                let started = Instant::now();
                let deadline = started + job.timeout;
                let msg = Msg::Started {
                    worker,
                    idx: job.idx,
                    deadline,
                    started,
                };
                if tx.send(msg).is_err() {
                    return;
                }
                let ev = Box::new(evaluate(&crew.check, job, started, deadline));
                let msg = Msg::Done {
                    worker,
                    idx: job.idx,
                    ev,
                };
                // Given up on: its place was taken by another thread.
                if tx.send(msg).is_err() || mine.load(Ordering::Relaxed) {
                    return;
                }
            }
        });
    retired.push(flag);
    started.is_ok()
}

/// One check, a panic in it made its `error` result.
fn evaluate<T: Copy, F>(check: &F, job: Job<T>, started: Instant, deadline: Instant) -> Evaluated
where
    F: Fn(T, Instant) -> Evaluated,
{
    let mut ev =
        catch_unwind(AssertUnwindSafe(|| check(job.what, deadline))).unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            failed(format!("the check crashed: {message}"))
        });
    ev.duration = started.elapsed();
    ev
}

#[cfg(test)]
mod tests {
    use super::*;
    use shipcheck_core::outcome::Status;
    use std::collections::BTreeMap;

    fn pass(summary: &str) -> Evaluated {
        let mut ev = failed(summary.to_string());
        ev.status = Status::Pass;
        ev
    }

    fn jobs(n: usize, timeout: Duration) -> Vec<Job<usize>> {
        (0..n)
            .map(|idx| Job {
                idx,
                what: idx,
                timeout,
            })
            .collect()
    }

    fn collect(
        jobs: Vec<Job<usize>>,
        threads: usize,
        check: impl Fn(usize, Instant) -> Evaluated + Send + Sync + 'static,
    ) -> BTreeMap<usize, Evaluated> {
        let mut out = BTreeMap::new();
        run(jobs, threads, None, check, &mut |idx, ev| {
            assert!(out.insert(idx, ev).is_none(), "result {idx} given twice");
        });
        out
    }

    #[test]
    fn every_check_gives_one_result_in_its_slot() {
        let out = collect(jobs(100, Duration::from_secs(30)), 3, |idx, _| {
            pass(&format!("checked {idx}"))
        });
        assert_eq!(out.len(), 100);
        for (idx, ev) in out {
            assert_eq!(ev.summary, format!("checked {idx}"));
            assert_eq!(ev.status, Status::Pass);
        }
    }

    #[test]
    fn one_thread_runs_the_checks_in_order() {
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let o = Arc::clone(&order);
        collect(jobs(20, Duration::from_secs(30)), 1, move |idx, _| {
            o.lock().unwrap().push(idx);
            pass("ok")
        });
        assert_eq!(*order.lock().unwrap(), (0..20).collect::<Vec<_>>());
    }

    #[test]
    fn no_more_checks_run_at_once_than_threads() {
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (n, m) = (Arc::clone(&now), Arc::clone(&most));
        let out = collect(jobs(40, Duration::from_secs(30)), 4, move |_, _| {
            let at_once = n.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(at_once, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(2));
            n.fetch_sub(1, Ordering::SeqCst);
            pass("ok")
        });
        assert_eq!(out.len(), 40);
        let most = most.load(Ordering::SeqCst);
        assert!((1..=4).contains(&most), "{most} at once");
    }

    #[test]
    fn a_check_that_never_returns_is_an_error_and_the_others_still_run() {
        let started = Instant::now();
        let out = collect(jobs(6, Duration::from_millis(200)), 2, |idx, _| {
            if idx == 1 {
                // Never returns within this test (left behind, as a stuck check is).
                std::thread::sleep(Duration::from_secs(3600));
            }
            pass("ok")
        });
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the run waited for the stuck check"
        );
        assert_eq!(out.len(), 6);
        assert_eq!(out[&1].status, Status::Error);
        assert_eq!(out[&1].summary, "did not finish within 200ms");
        assert!(out[&1].duration >= Duration::from_millis(200));
        for idx in [0, 2, 3, 4, 5] {
            assert_eq!(out[&idx].status, Status::Pass, "{idx}");
        }
    }

    #[test]
    fn when_every_thread_is_stuck_new_ones_finish_the_run() {
        let out = collect(jobs(5, Duration::from_millis(100)), 2, |idx, _| {
            if idx < 2 {
                std::thread::sleep(Duration::from_secs(3600));
            }
            pass("ok")
        });
        assert_eq!(out[&0].status, Status::Error);
        assert_eq!(out[&1].status, Status::Error);
        assert!((2..5).all(|i| out[&i].status == Status::Pass));
    }

    #[test]
    fn a_check_that_panics_is_an_error_that_says_so() {
        let out = collect(jobs(3, Duration::from_secs(30)), 2, |idx, _| {
            if idx == 0 {
                panic!("boom at {idx}");
            }
            pass("ok")
        });
        assert_eq!(out[&0].status, Status::Error);
        assert_eq!(out[&0].summary, "the check crashed: boom at 0");
        assert_eq!(out[&2].status, Status::Pass);
    }

    #[test]
    fn each_check_gets_its_own_deadline() {
        let out = collect(jobs(2, Duration::from_secs(7)), 1, |_, deadline| {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut ev = pass("ok");
            ev.summary = format!("{}", left > Duration::from_secs(6));
            ev
        });
        assert!(out.values().all(|ev| ev.summary == "true"));
    }

    #[test]
    fn no_checks_no_threads_no_results() {
        assert!(collect(Vec::new(), 4, |_, _| pass("ok")).is_empty());
    }
}
