//! `shipcheck fix`: the mechanical fixes of failing items, shown as diffs (a dry run), applied
//! with `--apply` (unsafe ones with `--unsafe` too), undone with `--undo` (issue #18).

use std::path::Path;

use shipcheck_core::id::ItemRef;

use super::*;

#[derive(clap::Args)]
pub struct FixArgs {
    /// Only these items (id or pack:id); default: every failing item with a mechanical fix.
    pub items: Vec<String>,
    /// Apply the safe fixes (default: show them and change nothing).
    #[arg(long)]
    pub apply: bool,
    /// The unsafe fixes too (they change behaviour others rely on, such as a token clients
    /// must learn): shown, and with --apply applied.
    #[arg(long)]
    pub r#unsafe: bool,
    /// Restore the files of the last fix from its backup.
    #[arg(long, conflicts_with_all = ["apply", "items"])]
    pub undo: bool,
    /// Do not record the fix in the ledger.
    #[arg(long)]
    pub no_record: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// The dry run's digests, so `--apply` changes only what was shown.
const LAST_PLAN: &str = "last-plan.json";

pub fn fix(args: FixArgs) -> Result<i32, Error> {
    let state = shipcheck_fix::state_dir();
    if args.undo {
        return undo(&args, &state);
    }
    let (profile, _, env) = load_target(&args.target)?;
    let opts = engine::Options {
        environment: Some(env.clone()),
        ..engine::Options::default()
    };
    let plan = engine::plan::plan(&profile, Some(&env), None, false)?;
    let run = engine::run_planned(&profile, &plan, &opts)?;
    let mut found = engine::remedies::of_failures(&plan, &run, &profile.dir);
    if !args.items.is_empty() {
        // Each found fix's item (`pack:id`), and whether one of the named items is it.
        let item_of = |f: &engine::remedies::Found| -> String {
            match f {
                Ok(r) => r.item.clone(),
                Err((item, _)) => item.clone(),
            }
        };
        let names = |wanted: &ItemRef, item: &str| {
            item.split_once(':')
                .is_some_and(|(pack, id)| wanted.matches(pack, id))
        };
        let all: Vec<String> = found.iter().map(item_of).collect();
        let wanted: Vec<ItemRef> = args.items.iter().map(|w| ItemRef::parse(w)).collect();
        for (w, text) in wanted.iter().zip(&args.items) {
            if !all.iter().any(|i| names(w, i)) {
                return Err(Error::usage(format!(
                    "`{text}` is not a failing item with a mechanical fix{}",
                    did_you_mean(text, &all)
                )));
            }
        }
        found.retain(|f| wanted.iter().any(|w| names(w, &item_of(f))));
    }
    let mut requests = Vec::new();
    for f in found {
        match f {
            Ok(r) => requests.push(r),
            Err((item, why)) => eprintln!(
                "cannot fix {item}: {}",
                shipcheck_fix::diff::mask(&why, &plan.secret_values)
            ),
        }
    }
    let p = shipcheck_fix::plan(&requests, args.r#unsafe);
    // Masked wherever the plan is shown: the new and replaced secrets, the profile's secret
    // variables, and (in the diff) every secret-looking key's value.
    let mut masks = p.secrets.clone();
    masks.extend(plan.secret_values.iter().cloned());
    show(&p, &profile.dir, &masks);
    if p.items.is_empty() {
        outln!("nothing to fix");
        return Ok(if p.refused.is_empty() { 0 } else { 1 });
    }
    let digests = state.join("fix").join(LAST_PLAN);
    if !args.apply {
        save_digests(&digests, &p);
        outln!(
            "dry run: nothing changed; `shipcheck fix --apply` applies the safe fixes above{}",
            if p.unsafe_skipped.is_empty() {
                ""
            } else {
                " (`--apply --unsafe` the unsafe ones too)"
            }
        );
        return Ok(0);
    }
    changed_since_dry_run(&digests, &p)?;
    let backup = shipcheck_fix::apply(&p, &state).map_err(|e| Error::usage(e.to_string()))?;
    let _ = std::fs::remove_file(&digests);
    outln!(
        "applied; backup in {} (`shipcheck fix --undo` restores it)",
        backup.display()
    );
    if !args.no_record {
        record(&args.target, &profile, &env, &p, &backup, false);
    }
    // The fixed items, checked again.
    let again = engine::run(&profile, &opts)?;
    let mut still = 0;
    for item in &p.items {
        let r = again.results.iter().find(|r| r.qualified_id() == *item);
        match r.map(|r| r.status) {
            Some(shipcheck_core::outcome::Status::Pass) => outln!("  fixed: {item}"),
            _ => {
                still += 1;
                outln!(
                    "  still failing: {item}: {}",
                    r.map(|r| r.summary.as_str()).unwrap_or("not in the run")
                );
            }
        }
    }
    Ok(if still == 0 && p.refused.is_empty() {
        0
    } else {
        1
    })
}

/// Prints the plan: each file's diff (secrets masked), the chmods, what is left out.
fn show(p: &shipcheck_fix::Plan, base: &Path, masks: &[String]) {
    let shown = |path: &Path| {
        path.strip_prefix(base)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    for f in &p.files {
        outln!("# {} ({})", shown(&f.path), f.items.join(", "));
        out!(
            "{}",
            shipcheck_fix::diff::unified(&shown(&f.path), &f.before, &f.after, masks)
        );
    }
    for m in &p.modes {
        outln!(
            "chmod {:04o} → {:04o} {} ({})",
            m.from,
            m.to,
            shown(&m.path),
            m.item
        );
    }
    for o in &p.owners {
        outln!(
            "chown {}:{} → {}:{} {} ({})",
            o.from.0,
            o.from.1,
            o.to.0,
            o.to.1,
            shown(&o.path),
            o.item
        );
    }
    for item in &p.unsafe_skipped {
        outln!("not applied without --unsafe: {item} (it changes behaviour others rely on)");
    }
    for r in &p.refused {
        outln!(
            "cannot fix {}: {}\n  by hand: {}",
            r.item,
            shipcheck_fix::diff::mask(&r.reason, masks),
            r.manual.trim()
        );
    }
}

fn save_digests(path: &Path, p: &shipcheck_fix::Plan) {
    let files: serde_json::Map<String, serde_json::Value> = p
        .files
        .iter()
        .map(|f| {
            (
                f.path.display().to_string(),
                serde_json::Value::from(shipcheck_core::hex::sha256(f.before.as_bytes())),
            )
        })
        .collect();
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(path, serde_json::Value::Object(files).to_string());
}

/// Refuses when a file shown by the last dry run changed since.
fn changed_since_dry_run(path: &Path, p: &shipcheck_fix::Plan) -> Result<(), Error> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    let seen: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    for f in &p.files {
        if let Some(digest) = seen[f.path.display().to_string()].as_str()
            && digest != shipcheck_core::hex::sha256(f.before.as_bytes())
        {
            return Err(Error::usage(format!(
                "{} changed since the dry run: nothing was changed; run `shipcheck fix` again to see the new diff",
                f.path.display()
            )));
        }
    }
    Ok(())
}

fn undo(args: &FixArgs, state: &Path) -> Result<i32, Error> {
    let m = shipcheck_fix::undo(state).map_err(|e| Error::usage(e.to_string()))?;
    for s in &m.saved {
        outln!("restored {}", s.path.display());
    }
    outln!("undid the fix of {} ({})", m.at, m.items.join(", "));
    if !args.no_record
        && let Ok((profile, _, env)) = load_target(&args.target)
    {
        let p = shipcheck_fix::Plan {
            items: m.items.clone(),
            ..Default::default()
        };
        record(&args.target, &profile, &env, &p, Path::new(&m.at), true);
    }
    Ok(0)
}

/// Records the fix in the ledger; a ledger that cannot be written is a warning (the files
/// are already changed, and the backup holds them).
fn record(
    target: &TargetArgs,
    profile: &Profile,
    env: &str,
    p: &shipcheck_fix::Plan,
    backup: &Path,
    undo: bool,
) {
    let sha = |s: &str| format!("sha256:{}", shipcheck_core::hex::sha256(s.as_bytes()));
    let files = p
        .files
        .iter()
        .map(|f| shipcheck_core::statement::FixedFile {
            path: f.path.display().to_string(),
            before: sha(&f.before),
            after: sha(&f.after),
            mode_before: None,
            mode_after: None,
            owner_before: None,
            owner_after: None,
        })
        .chain(
            p.owners
                .iter()
                .map(|o| shipcheck_core::statement::FixedFile {
                    path: o.path.display().to_string(),
                    before: String::new(),
                    after: String::new(),
                    mode_before: None,
                    mode_after: None,
                    owner_before: Some(format!("{}:{}", o.from.0, o.from.1)),
                    owner_after: Some(format!("{}:{}", o.to.0, o.to.1)),
                }),
        )
        .chain(
            p.modes
                .iter()
                .map(|m| shipcheck_core::statement::FixedFile {
                    path: m.path.display().to_string(),
                    before: String::new(),
                    after: String::new(),
                    mode_before: Some(format!("{:04o}", m.from)),
                    mode_after: Some(format!("{:04o}", m.to)),
                    owner_before: None,
                    owner_after: None,
                }),
        )
        .collect();
    let fix = shipcheck_core::statement::Fix {
        deployment: profile.deployment().to_string(),
        environment: env.to_string(),
        items: p.items.clone(),
        files,
        undo,
        backup: backup.display().to_string(),
        at: jiff::Timestamp::now().to_string(),
    };
    match target.db.open().and_then(|mut l| Ok(l.record_fix(&fix)?)) {
        Ok(seq) => eprintln!("recorded the fix in the ledger (#{seq})"),
        Err(e) => eprintln!("warning: the fix is not recorded in the ledger: {e}"),
    }
}

/// `; did you mean `pack:id`?` for the item whose id is closest to `wanted`, if any is.
fn did_you_mean(wanted: &str, all: &[String]) -> String {
    let ids = all.iter().map(|i| i.rsplit(':').next().unwrap_or(i));
    shipcheck_core::diag::did_you_mean(wanted, ids)
        .and_then(|id| all.iter().find(|i| i.rsplit(':').next() == Some(id)))
        .map(|i| format!("; did you mean `{i}`?"))
        .unwrap_or_default()
}
