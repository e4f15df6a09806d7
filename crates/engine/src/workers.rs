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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use shipcheck_core::duration::deadline;

use crate::judge::{Evaluated, failed};

/// One check to run: its result slot, what to check and its time allowed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Job<T> {
    pub idx: usize,
    pub what: T,
    pub timeout: Duration,
}

/// A finished check, from the thread that ran it.
struct Done {
    idx: usize,
    ev: Box<Evaluated>,
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

/// One worker thread as the collecting thread sees it. The check it is in is written here,
/// not sent: the collector needs it only to find an overrun, and a message per start woke
/// it as often as the results do.
#[derive(Default)]
struct Worker(Mutex<State>);

#[derive(Default)]
struct State {
    running: Option<Running>,
    /// Given up on: the thread ends after the check it is stuck in. Set under the same
    /// lock the thread clears `running` under, so a check is either given up on or
    /// finished by its thread, never both, and a thread given up on starts no other.
    retired: bool,
}

impl Worker {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A check's panic is caught inside it; a poisoned state is still a valid value.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The check a worker is in.
#[derive(Clone, Copy)]
struct Running {
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
    // No check still to start can end before this long from now.
    let shortest = jobs.iter().map(|j| j.timeout).min().unwrap_or_default();
    let crew = Arc::new(Crew {
        queue: Queue {
            jobs,
            next: AtomicUsize::new(0),
        },
        check,
        runtime,
    });
    let (tx, rx) = mpsc::channel::<Done>();
    let mut workers: Vec<Arc<Worker>> = Vec::new();
    let mut alive = 0;
    for _ in 0..threads {
        if start_worker(&crew, &tx, &mut workers) {
            alive += 1;
        }
    }
    let mut done = 0;
    // Until then no check can have overrun, so the workers need not be looked at.
    let mut look_at = Instant::now();
    while done < total {
        if alive == 0 {
            // No thread could start (or every one is stuck and none can replace it): the
            // rest run here, one after another.
            while let Some(job) = crew.queue.take() {
                let started = Instant::now();
                on_result(
                    job.idx,
                    evaluate(&crew.check, job, started, deadline(started, job.timeout)),
                );
            }
            break;
        }
        let now = Instant::now();
        if now >= look_at {
            for worker in &workers {
                let late = {
                    let mut state = worker.state();
                    match state.running {
                        Some(r) if r.deadline <= now => {
                            state.retired = true;
                            state.running.take()
                        }
                        _ => None,
                    }
                };
                let Some(r) = late else { continue };
                alive -= 1;
                let allowed = r.deadline - r.started;
                let mut ev = failed(format!(
                    "did not finish within {}",
                    shipcheck_core::duration::Span(allowed)
                ));
                ev.duration = now - r.started;
                done += 1;
                on_result(r.idx, ev);
            }
            // The threads given up on are replaced (after the look, which they extend).
            let replace = threads.saturating_sub(alive);
            for _ in 0..replace.min(total - done) {
                if start_worker(&crew, &tx, &mut workers) {
                    alive += 1;
                }
            }
            // A check started after this look ends no earlier than `shortest` from now.
            let soonest = workers
                .iter()
                .filter_map(|w| w.state().running.map(|r| r.deadline))
                .min();
            let later = deadline(now, shortest.max(Duration::from_millis(1)));
            look_at = soonest.map_or(later, |s| s.min(later));
            continue;
        }
        match rx.recv_timeout(look_at - now) {
            // (A check given up on sends nothing: see `State::retired`.)
            Ok(Done { idx, ev }) => {
                done += 1;
                on_result(idx, *ev);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // Every thread ended: whatever is left runs here (above).
            Err(mpsc::RecvTimeoutError::Disconnected) => alive = 0,
        }
    }
}

/// Starts one more worker; false when the system gives no thread.
fn start_worker<T, F>(
    crew: &Arc<Crew<T, F>>,
    tx: &mpsc::Sender<Done>,
    workers: &mut Vec<Arc<Worker>>,
) -> bool
where
    T: Copy + Send + Sync + 'static,
    F: Fn(T, Instant) -> Evaluated + Send + Sync + 'static,
{
    let worker = Arc::new(Worker::default());
    let (crew, tx, mine) = (Arc::clone(crew), tx.clone(), Arc::clone(&worker));
    let started = std::thread::Builder::new()
        .name("shipcheck-check".into())
        .spawn(move || {
            let _runtime = crew.runtime.as_ref().map(|h| h.enter());
            while let Some(job) = crew.queue.take() {
                let started = Instant::now();
                let deadline = deadline(started, job.timeout);
                mine.state().running = Some(Running {
                    idx: job.idx,
                    deadline,
                    started,
                });
                let ev = Box::new(evaluate(&crew.check, job, started, deadline));
                let retired = {
                    let mut state = mine.state();
                    state.running = None;
                    state.retired
                };
                // Given up on: settled as an error already, and its place was taken by
                // another thread.
                if retired || tx.send(Done { idx: job.idx, ev }).is_err() {
                    return;
                }
            }
        });
    if started.is_ok() {
        workers.push(worker);
    }
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
    fn a_short_timeout_that_starts_after_long_ones_is_kept() {
        // One thread: check 2 (100 ms allowed, never returns) starts only after check 1 has
        // taken 300 ms of its 30 s, so its deadline was unknown at every earlier look.
        let mut jobs = jobs(3, Duration::from_secs(30));
        jobs[2].timeout = Duration::from_millis(100);
        let started = Instant::now();
        let out = collect(jobs, 1, |idx, _| {
            match idx {
                1 => std::thread::sleep(Duration::from_millis(300)),
                2 => std::thread::sleep(Duration::from_secs(3600)),
                _ => {}
            }
            pass("ok")
        });
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "check 2 was settled only at a 30 s deadline: {:?}",
            started.elapsed()
        );
        assert_eq!(out[&2].status, Status::Error);
        assert_eq!(out[&2].summary, "did not finish within 100ms");
        assert_eq!(out[&1].status, Status::Pass);
    }

    #[test]
    fn a_check_that_ends_as_it_is_given_up_on_gives_one_result() {
        // Checks that end about when their time is up: each is either given up on or
        // finished, never both (`collect` fails on a second result for a slot).
        for _ in 0..20 {
            let out = collect(jobs(8, Duration::from_millis(5)), 4, |_, _| {
                std::thread::sleep(Duration::from_millis(5));
                pass("ok")
            });
            assert_eq!(out.len(), 8);
        }
    }

    #[test]
    fn a_timeout_too_long_for_the_clock_means_no_deadline() {
        // `timeout: 18446744073709551615` (seconds) in a pack: adding it to now overflows.
        let mut jobs = jobs(2, Duration::MAX);
        jobs[1].timeout = Duration::from_secs(30);
        let out = collect(jobs, 1, |_, _| pass("ok"));
        assert_eq!(out.len(), 2);
        assert!(out.values().all(|ev| ev.status == Status::Pass));
    }

    #[test]
    fn no_checks_no_threads_no_results() {
        assert!(collect(Vec::new(), 4, |_, _| pass("ok")).is_empty());
    }
}
