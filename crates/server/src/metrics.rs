//! `/metrics`: the fleet's state as gauges (the gate as the ledger stands now, the latest
//! run's score, items by status and time, each phase's items) and the server's own events
//! as counters and a histogram (runs recorded, and how long their checks took), in the
//! OpenMetrics text format, written with the `prometheus-client` crate.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use shipcheck_core::outcome::Run;
use shipcheck_report::prometheus::{Gauges, PhaseItems, State, Target};

use crate::model::FleetRow;

/// The content type of `/metrics`.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Recorded {
    deployment: String,
    environment: String,
    /// `pushed` (`check --push`) or `scheduled` (the scheduler).
    source: &'static str,
}

type Durations = Family<Target, Histogram, fn() -> Histogram>;

fn duration_buckets() -> Histogram {
    // 50 ms to about 100 s.
    Histogram::new(exponential_buckets(0.05, 2.0, 12))
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Delivery {
    format: &'static str,
    /// `delivered` or `failed` (one attempt).
    outcome: &'static str,
}

/// The server's events since it started.
pub struct Events {
    deliveries: Family<Delivery, Counter>,
    runs: Family<Recorded, Counter>,
    durations: Durations,
    /// How late scheduled jobs started after their time (wall-clock seconds).
    lag: Histogram,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            deliveries: Family::default(),
            runs: Family::default(),
            durations: Family::new_with_constructor(duration_buckets),
            // 10 ms to about 80 s.
            lag: Histogram::new(exponential_buckets(0.01, 2.0, 14)),
        }
    }
}

impl Events {
    /// One attempt to deliver an alert to a webhook.
    pub fn delivery(&self, format: &'static str, delivered: bool) {
        let outcome = if delivered { "delivered" } else { "failed" };
        self.deliveries
            .get_or_create(&Delivery { format, outcome })
            .inc();
    }

    /// A scheduled job ran `lag` seconds after its time.
    pub fn scheduled(&self, lag: f64) {
        self.lag.observe(lag);
    }

    /// A run was recorded: counted, and its duration observed.
    pub fn recorded(&self, run: &Run, source: &'static str) {
        self.runs
            .get_or_create(&Recorded {
                deployment: run.deployment.clone(),
                environment: run.environment.clone(),
                source,
            })
            .inc();
        self.durations
            .get_or_create(&Target {
                deployment: run.deployment.clone(),
                environment: run.environment.clone(),
            })
            .observe(run.duration_ms as f64 / 1000.0);
    }
}

/// The text of `/metrics`: gauges of `rows` (the fleet now) and the events.
pub fn render(rows: &[FleetRow], events: &Events) -> String {
    let mut registry = Registry::default();
    let gauges = Gauges::register(&mut registry);
    for row in rows {
        let target = Target {
            deployment: row.deployment.clone(),
            environment: row.environment.clone(),
        };
        let last_run = shipcheck_report::prometheus::unix_seconds(&row.latest.started_at);
        gauges.set(
            &target,
            &State {
                go: row.gate.go,
                score: row.latest.score.map(f64::from),
                counts: &row.latest.counts,
                last_run,
                phases: row
                    .gate
                    .phases
                    .iter()
                    .map(|p| PhaseItems {
                        phase: p.phase.clone(),
                        done: p.done,
                        open: p.open,
                        not_due: p.not_due,
                    })
                    .collect(),
            },
        );
    }
    registry.register(
        "shipcheck_runs_recorded",
        "Runs recorded by this server since it started, by source",
        events.runs.clone(),
    );
    registry.register_with_unit(
        "shipcheck_check_duration",
        "How long the checks of the runs recorded by this server took",
        Unit::Seconds,
        events.durations.clone(),
    );
    registry.register(
        "shipcheck_webhook_deliveries",
        "Attempts to deliver alerts to webhooks, by format and outcome",
        events.deliveries.clone(),
    );
    registry.register_with_unit(
        "shipcheck_scheduler_lag",
        "How long after its time each scheduled job started",
        Unit::Seconds,
        events.lag.clone(),
    );
    shipcheck_report::prometheus::encode(&registry)
}
