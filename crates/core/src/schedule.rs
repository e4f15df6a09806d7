//! When each phase of a deployment falls due: an offset from the deploy. The defaults are
//! the source checklists' (at once and again after 15 minutes, then 1 hour, 1 day and
//! 1 week; periodic items every day); a profile changes them under `schedule:`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_saphyr::{Location, Spanned};

use crate::duration::Span;
use crate::pack::Phase;

/// A profile's `schedule:`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// The time after the deploy at which a phase falls due, for the phases after the
    /// deploy (post-deploy-immediate, first-hour, first-day, first-week).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<Phase, Span>")]
    pub offsets: BTreeMap<Phase, Spanned<Span>>,
    /// How often periodic items run (and fall due again); default 24h.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Span>")]
    pub every: Option<Spanned<Span>>,
}

/// Why a `schedule:` cannot be kept, and where in the profile (`Location::UNKNOWN` when the
/// schedule did not come from YAML).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleProblem {
    pub message: String,
    pub at: Location,
}

/// A profile's `alerts:`: what drift against the deploy's baseline raises an alert (an
/// item that passed and now fails, and a new error, always do).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alerts {
    /// A fall of the score by this many points or more (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_drop: Option<u32>,
    /// A waiver or attestation that ends within this time (default 7d).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiring: Option<Span>,
}

impl Alerts {
    pub fn score_drop(&self) -> u32 {
        self.score_drop.unwrap_or(10)
    }

    pub fn expiring(&self) -> Duration {
        self.expiring
            .map_or(Duration::from_secs(7 * 24 * 3600), |s| s.0)
    }
}

/// When an item of some phase is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DueAt {
    /// Before any deploy (pre-deploy items).
    Always,
    /// From this instant on.
    At(jiff::Timestamp),
    /// Once a deploy is recorded, which none is yet.
    AfterDeploy,
}

impl Schedule {
    pub fn is_default(&self) -> bool {
        *self == Schedule::default()
    }

    /// This schedule with periodic items every `every`.
    pub fn with_every(self, every: Duration) -> Self {
        Schedule {
            every: Some(Spanned::new(
                Span(every),
                Location::UNKNOWN,
                Location::UNKNOWN,
            )),
            ..self
        }
    }

    /// The interval of periodic items.
    pub fn every(&self) -> Duration {
        self.every
            .as_ref()
            .map_or(Duration::from_secs(24 * 3600), |s| s.value.0)
    }

    /// The time after the deploy at which `phase` falls due; `None` for pre-deploy.
    pub fn offset(&self, phase: Phase) -> Option<Duration> {
        if let Some(s) = self.offsets.get(&phase) {
            return Some(s.value.0);
        }
        let hours = match phase {
            Phase::PreDeploy => return None,
            Phase::PostDeployImmediate => 0,
            Phase::FirstHour => 1,
            Phase::FirstDay => 24,
            Phase::FirstWeek => 24 * 7,
            Phase::Periodic => return Some(self.every()),
        };
        Some(Duration::from_secs(hours * 3600))
    }

    /// When items of `phase` fall due, given the deploy (if one is recorded).
    pub fn due_at(&self, phase: Phase, deployed_at: Option<jiff::Timestamp>) -> DueAt {
        match (self.offset(phase), deployed_at) {
            (None, _) => DueAt::Always,
            (Some(_), None) => DueAt::AfterDeploy,
            (Some(offset), Some(at)) => {
                let offset =
                    jiff::SignedDuration::try_from(offset).unwrap_or(jiff::SignedDuration::MAX);
                DueAt::At(at.checked_add(offset).unwrap_or(jiff::Timestamp::MAX))
            }
        }
    }

    /// Checks the offsets: only phases after the deploy, in the timeline's order.
    pub fn check(&self) -> Result<(), ScheduleProblem> {
        for phase in [Phase::PreDeploy, Phase::Periodic] {
            if let Some(offset) = self.offsets.get(&phase) {
                return Err(ScheduleProblem {
                    message: format!(
                        "schedule.offsets: {} has no offset ({})",
                        phase.as_str(),
                        if phase == Phase::PreDeploy {
                            "it is due before the deploy"
                        } else {
                            "periodic items use schedule.every"
                        }
                    ),
                    at: offset.referenced,
                });
            }
        }
        if let Some(every) = &self.every
            && every.value.0 < Duration::from_secs(60)
        {
            return Err(ScheduleProblem {
                message: "schedule.every must be at least 1m".into(),
                at: every.referenced,
            });
        }
        let timeline = [
            Phase::PostDeployImmediate,
            Phase::FirstHour,
            Phase::FirstDay,
            Phase::FirstWeek,
        ];
        for pair in timeline.windows(2) {
            let (a, b) = (self.offset(pair[0]), self.offset(pair[1]));
            if a > b {
                // At the offset the profile set, the earlier phase's if it set both.
                let at = [pair[0], pair[1]]
                    .iter()
                    .find_map(|p| self.offsets.get(p))
                    .map_or(Location::UNKNOWN, |o| o.referenced);
                return Err(ScheduleProblem {
                    message: format!(
                        "schedule.offsets: {} ({}) comes after {} ({}); phases keep their order",
                        pair[0].as_str(),
                        Span(a.unwrap_or_default()),
                        pair[1].as_str(),
                        Span(b.unwrap_or_default()),
                    ),
                    at,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_checklists_and_a_profile_changes_them() {
        let t: jiff::Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
        let s = Schedule::default();
        assert_eq!(s.due_at(Phase::PreDeploy, None), DueAt::Always);
        assert_eq!(s.due_at(Phase::FirstWeek, None), DueAt::AfterDeploy);
        assert_eq!(
            s.due_at(Phase::FirstDay, Some(t)),
            DueAt::At("2026-12-02T00:00:00Z".parse().unwrap())
        );
        let custom: Schedule =
            serde_json::from_str(r#"{"offsets": {"first-hour": "90m"}, "every": "6h"}"#).unwrap();
        assert_eq!(
            custom.offset(Phase::FirstHour),
            Some(Duration::from_secs(5400))
        );
        assert_eq!(
            custom.offset(Phase::Periodic),
            Some(Duration::from_secs(6 * 3600))
        );
        assert!(custom.check().is_ok());
    }

    #[test]
    fn offsets_out_of_order_or_for_the_wrong_phase_are_refused() {
        let late: Schedule = serde_json::from_str(r#"{"offsets": {"first-hour": "2d"}}"#).unwrap();
        let e = late.check().unwrap_err().message;
        assert!(e.contains("first-hour") && e.contains("first-day"), "{e}");
        let pre: Schedule = serde_json::from_str(r#"{"offsets": {"pre-deploy": "1h"}}"#).unwrap();
        assert!(
            pre.check()
                .unwrap_err()
                .message
                .contains("before the deploy")
        );
        assert!(
            serde_json::from_str::<Schedule>(r#"{"offsets": {"first-hr": "1h"}}"#).is_err(),
            "a typo in a phase is an error"
        );
    }
}
