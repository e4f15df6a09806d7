//! `disk` probe: free space on the file system that holds a path.

use serde_json::json;
use shipcheck_core::spec::disk::*;

use super::{Finding, Observation, ProbeCtx};

impl crate::Observe for DiskProbe {
    fn observe(&self, ctx: &ProbeCtx) -> Result<Observation, String> {
        let path = ctx.path(&self.path)?;
        let st = rustix::fs::statvfs(&path)
            .map_err(|e| format!("cannot measure free space at {}: {e}", path.display()))?;
        let free = st.f_bavail.saturating_mul(st.f_frsize);
        let total = st.f_blocks.saturating_mul(st.f_frsize);
        let percent = if total == 0 {
            0.0
        } else {
            free as f64 * 100.0 / total as f64
        };
        let mut obs = Observation::new(
            json!({"path": path.display().to_string(), "free_bytes": free, "total_bytes": total, "free_percent": (percent * 10.0).round() / 10.0}),
            format!("disk {}", path.display()),
        );
        let seen = format!(
            "{} free of {} ({percent:.1}%)",
            human_bytes(free),
            human_bytes(total)
        );
        if let Some(min) = self.min_free {
            obs.findings.push(Finding::new(
                free >= min.0,
                format!("at least {} free", human_bytes(min.0)),
                seen.clone(),
            ));
        }
        if let Some(min) = self.min_free_percent {
            obs.findings.push(Finding::new(
                percent >= min,
                format!("at least {min}% free"),
                seen,
            ));
        }
        Ok(obs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10GiB").unwrap(), 10 * 1024 * 1024 * 1024);
        assert_eq!(parse_size("500MB").unwrap(), 500_000_000);
        assert_eq!(parse_size("1.5 KiB").unwrap(), 1536);
        assert!(parse_size("lots").is_err());
        assert_eq!(human_bytes(1536), "1.5 KiB");
    }
}
