//! Webhook deliveries of alerts: every attempt, with its outcome. The target is stored as
//! it may be shown (no path, query or user: a webhook URL often holds a secret).

use crate::query::Param;
use crate::{Ledger, LedgerError};

/// The columns every delivery statement returns, in [`DeliveryRow`]'s order.
pub const COLUMNS: &str = "id, alert_seq, target, format, attempt, status, error, at_ms";

/// One attempt to deliver an alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryRow {
    pub id: i64,
    /// The alert's ledger sequence number.
    pub alert_seq: i64,
    /// Where it went, as shown (`https://hooks.example/…`).
    pub target: String,
    /// `json` or `slack`.
    pub format: String,
    /// 1 for the first try.
    pub attempt: i64,
    /// The HTTP status (0: no answer).
    pub status: i64,
    pub error: Option<String>,
    pub at_ms: i64,
}

impl Ledger {
    /// Records one attempt.
    pub fn record_delivery(&mut self, d: &DeliveryRow) -> Result<(), LedgerError> {
        self.backend.deliveries(
            &format!(
                "INSERT INTO deliveries (alert_seq, target, format, attempt, status, error, at_ms) VALUES (#1, #2, #3, #4, #5, #6, #7) RETURNING {COLUMNS}"
            ),
            vec![
                Param::Int(d.alert_seq),
                Param::Text(d.target.clone()),
                Param::Text(d.format.clone()),
                Param::Int(d.attempt),
                Param::Int(d.status),
                Param::MaybeText(d.error.clone()),
                Param::Int(d.at_ms),
            ],
        )?;
        Ok(())
    }

    /// The attempts to deliver alert `seq`, in order.
    pub fn deliveries_of(&mut self, alert_seq: i64) -> Result<Vec<DeliveryRow>, LedgerError> {
        self.backend.deliveries(
            &format!("SELECT {COLUMNS} FROM deliveries WHERE alert_seq = #1 ORDER BY id"),
            vec![Param::Int(alert_seq)],
        )
    }
}
