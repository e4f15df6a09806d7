//! Prometheus metrics of a deployment's state, written with the `prometheus-client` crate:
//! `check --format prometheus` (for node_exporter's textfile collector) and the gauges of
//! `shipcheck serve`'s `/metrics`. Current state is a gauge; only events (which the server
//! counts) are counters.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use shipcheck_core::outcome::{Counts, PhaseCount, Run, Status};

/// A deployment in an environment: the labels of every metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Target {
    pub deployment: String,
    pub environment: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ByStatus {
    deployment: String,
    environment: String,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ByPhase {
    deployment: String,
    environment: String,
    phase: String,
    state: &'static str,
}

/// One phase's items: done, open (due and not done) and not due yet.
#[derive(Clone, Debug)]
pub struct PhaseItems {
    pub phase: String,
    pub done: usize,
    pub open: usize,
    pub not_due: usize,
}

impl From<&PhaseCount> for PhaseItems {
    fn from(c: &PhaseCount) -> Self {
        PhaseItems {
            phase: c.phase.as_str().into(),
            done: c.done,
            open: c.open,
            not_due: c.not_due,
        }
    }
}

/// What the gauges say of one deployment in one environment.
pub struct State<'a> {
    pub go: bool,
    /// The readiness score, 0 to 100 (`None`: nothing weighed was assessed).
    pub score: Option<f64>,
    pub counts: &'a Counts,
    /// When the latest run started (Unix seconds).
    pub last_run: Option<f64>,
    pub phases: Vec<PhaseItems>,
}

/// The state gauges, registered once in a registry and set per deployment.
pub struct Gauges {
    go: Family<Target, Gauge>,
    score: Family<Target, Gauge<f64, AtomicU64>>,
    items: Family<ByStatus, Gauge>,
    last_run: Family<Target, Gauge<f64, AtomicU64>>,
    phase_items: Family<ByPhase, Gauge>,
}

impl Gauges {
    pub fn register(registry: &mut Registry) -> Gauges {
        let g = Gauges {
            go: Family::default(),
            score: Family::default(),
            items: Family::default(),
            last_run: Family::default(),
            phase_items: Family::default(),
        };
        registry.register(
            "shipcheck_gate_go",
            "1 when the gate says go, 0 when it says no-go",
            g.go.clone(),
        );
        registry.register(
            "shipcheck_score",
            "The readiness score (score/v1), 0 to 100; absent when nothing weighed was assessed",
            g.score.clone(),
        );
        registry.register(
            "shipcheck_items",
            "Items of the latest run, by status",
            g.items.clone(),
        );
        registry.register_with_unit(
            "shipcheck_last_run_timestamp",
            "When the latest run started, in Unix time",
            Unit::Seconds,
            g.last_run.clone(),
        );
        registry.register(
            "shipcheck_phase_items",
            "Items of each phase: done, open (due and not done: overdue) or not due yet",
            g.phase_items.clone(),
        );
        g
    }

    /// Sets the gauges of `target` to `state`.
    pub fn set(&self, target: &Target, state: &State<'_>) {
        self.go.get_or_create(target).set(i64::from(state.go));
        if let Some(score) = state.score {
            self.score.get_or_create(target).set(score);
        }
        if let Some(at) = state.last_run {
            self.last_run.get_or_create(target).set(at);
        }
        let c = state.counts;
        for (status, n) in [
            (Status::Pass, c.pass),
            (Status::Fail, c.fail),
            (Status::Warn, c.warn),
            (Status::Error, c.error),
            (Status::Pending, c.pending),
            (Status::Waived, c.waived),
            (Status::NotApplicable, c.not_applicable),
        ] {
            let labels = ByStatus {
                deployment: target.deployment.clone(),
                environment: target.environment.clone(),
                status: status.as_str(),
            };
            self.items.get_or_create(&labels).set(n as i64);
        }
        for p in &state.phases {
            for (state, n) in [("done", p.done), ("open", p.open), ("not_due", p.not_due)] {
                let labels = ByPhase {
                    deployment: target.deployment.clone(),
                    environment: target.environment.clone(),
                    phase: p.phase.clone(),
                    state,
                };
                self.phase_items.get_or_create(&labels).set(n as i64);
            }
        }
    }
}

/// `check --format prometheus`: the run's gauges, and how long it took.
pub fn render(run: &Run) -> String {
    let mut registry = Registry::default();
    let gauges = Gauges::register(&mut registry);
    let duration: Family<Target, Gauge<f64, AtomicU64>> = Family::default();
    registry.register_with_unit(
        "shipcheck_run_duration",
        "How long the run took",
        Unit::Seconds,
        duration.clone(),
    );
    let target = Target {
        deployment: run.deployment.clone(),
        environment: run.environment.clone(),
    };
    let phases = shipcheck_core::outcome::phase_counts(&run.results)
        .iter()
        .map(PhaseItems::from)
        .collect();
    gauges.set(
        &target,
        &State {
            go: run.gate.go,
            score: run.score.value.map(f64::from),
            counts: &run.counts,
            last_run: unix_seconds(&run.started_at),
            phases,
        },
    );
    duration
        .get_or_create(&target)
        .set(run.duration_ms as f64 / 1000.0);
    encode(&registry)
}

/// An RFC 3339 instant in Unix seconds.
pub fn unix_seconds(instant: &str) -> Option<f64> {
    let t: jiff::Timestamp = instant.parse().ok()?;
    Some(t.as_millisecond() as f64 / 1000.0)
}

/// The OpenMetrics text of `registry`, ending with `# EOF`.
pub fn encode(registry: &Registry) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, registry);
    out
}
