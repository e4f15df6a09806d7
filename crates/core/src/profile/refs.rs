//! References from a profile to items: every `enable:` entry and waiver must name an item
//! (or a tag) of the profile's packs; a typo is a located error with the closest id.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::diag::{Pos, Problem};
use crate::pack::LoadedPack;

impl super::Profile {
    /// `enable:` entries and waivers that name no item (or tag) of `packs`, each located,
    /// with the closest real one.
    pub(super) fn unknown_item_refs(&self, packs: &[Arc<LoadedPack>]) -> Vec<Problem> {
        let items: Vec<(&str, &crate::pack::Item)> = packs
            .iter()
            .flat_map(|lp| {
                lp.pack
                    .sections
                    .iter()
                    .flat_map(move |s| s.items.iter().map(move |i| (lp.pack.name.as_str(), i)))
            })
            .collect();
        let ids: Vec<String> = items
            .iter()
            .flat_map(|(p, i)| [i.id.value.clone(), format!("{p}:{}", i.id.value)])
            .collect();
        let tags: BTreeSet<&str> = items
            .iter()
            .flat_map(|(_, i)| i.tags.iter().map(String::as_str))
            .collect();
        let known = |r: &str| {
            let named = crate::id::ItemRef::parse(r);
            items.iter().any(|(p, i)| named.matches(p, &i.id.value))
        };
        let suggest = |name: &str| {
            crate::diag::did_you_mean(name, ids.iter().map(String::as_str))
                .map(|m| format!("did you mean `{m}`?"))
        };
        let mut problems = Vec::new();
        for e in &self.file.enable {
            let at = Pos::from_location(&e.referenced);
            if let Some(tag) = e.value.strip_prefix("tag:") {
                if !tags.contains(tag) {
                    let mut p = Problem::new(
                        format!("`enable:` names tag `{tag}`, which no item has"),
                        at,
                    );
                    if let Some(m) = crate::diag::did_you_mean(tag, tags.iter().copied()) {
                        p = p.with_help(format!("did you mean `tag:{m}`?"));
                    }
                    problems.push(p);
                }
            } else if !known(&e.value) {
                let mut p = Problem::new(
                    format!(
                        "`enable:` names `{}`, which is not an item of this profile's packs",
                        e.value
                    ),
                    at,
                );
                if let Some(h) = suggest(&e.value) {
                    p = p.with_help(h);
                }
                problems.push(p);
            }
        }
        for w in &self.file.waivers {
            if !known(&w.item.value) {
                let mut p = Problem::new(
                    format!(
                        "waiver for `{}`: no item of this profile's packs has that id",
                        w.item.value
                    ),
                    Pos::from_location(&w.item.referenced),
                );
                if let Some(h) = suggest(&w.item.value) {
                    p = p.with_help(h);
                }
                problems.push(p);
            }
        }
        problems
    }
}
