//! Finding where nodes diverged: every node writes the slog (one JSON line per delivery,
//! `vatd start --slog`), and the first crank whose line differs between two nodes is where
//! their states parted.
//!
//! A node that died and ran a block again has written that block's cranks twice; the last
//! line for a crank number is the run whose state the node kept, so that is the one
//! compared.

use std::collections::BTreeMap;
use std::path::Path;

/// A crank two nodes ran differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstDifference {
    pub crank: u64,
    /// The two nodes' slog lines for it (`None`: that node has no line for the crank).
    pub left: Option<String>,
    pub right: Option<String>,
}

/// The last slog line of each crank in `text`.
fn by_crank(text: &str) -> BTreeMap<u64, String> {
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let crank = serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|v| v["crank"].as_u64());
        if let Some(c) = crank {
            m.insert(c, line.to_string());
        }
    }
    m
}

/// The first crank at which two slogs differ, among the cranks either has up to the
/// smaller of their last cranks (a node that stopped earlier has not diverged by being
/// behind).
pub fn first_difference(left: &str, right: &str) -> Option<FirstDifference> {
    let (l, r) = (by_crank(left), by_crank(right));
    let last = (*l.keys().next_back()?).min(*r.keys().next_back()?);
    let cranks: std::collections::BTreeSet<u64> = l
        .keys()
        .chain(r.keys())
        .copied()
        .filter(|c| *c <= last)
        .collect();
    cranks.into_iter().find_map(|c| {
        let (a, b) = (l.get(&c), r.get(&c));
        (a != b).then(|| FirstDifference {
            crank: c,
            left: a.cloned(),
            right: b.cloned(),
        })
    })
}

/// A report of where the slogs at `paths` first differ from the first one's.
pub fn report(paths: &[(usize, &Path)]) -> String {
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let Some(((base_i, base_p), rest)) = paths.split_first() else {
        return "no slog to compare".into();
    };
    let base = read(base_p);
    let mut out = String::new();
    for (i, p) in rest {
        match first_difference(&base, &read(p)) {
            None => out.push_str(&format!(
                "node{base_i} and node{i}: their slogs agree on every crank both ran\n"
            )),
            Some(d) => out.push_str(&format!(
                "node{base_i} and node{i} first differ at crank {}:\n  node{base_i}: {}\n  node{i}: {}\n",
                d.crank,
                clip(d.left.as_deref()),
                clip(d.right.as_deref())
            )),
        }
    }
    out
}

fn clip(line: Option<&str>) -> String {
    match line {
        None => "(no delivery logged)".into(),
        Some(l) if l.len() > 2000 => {
            let mut end = 2000;
            while !l.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}…", &l[..end])
        }
        Some(l) => l.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = r#"{"crank":1,"vatID":"v1","status":"ok"}
{"crank":2,"vatID":"v2","syscalls":[1],"status":"ok"}
{"crank":3,"vatID":"v1","status":"ok"}
"#;

    #[test]
    fn the_first_differing_crank_is_found() {
        let b = A.replace(r#""syscalls":[1]"#, r#""syscalls":[2]"#);
        let d = first_difference(A, &b).expect("a difference");
        assert_eq!(d.crank, 2);
        assert!(d.left.as_deref().is_some_and(|l| l.contains("[1]")));
        assert!(d.right.as_deref().is_some_and(|l| l.contains("[2]")));
    }

    #[test]
    fn a_crank_run_again_counts_by_its_last_line_and_being_behind_is_no_difference() {
        // Crank 2 was run twice (the node died before Commit); its second run agrees.
        let again = format!(
            "{A}{}\n",
            r#"{"crank":2,"vatID":"v2","syscalls":[1],"status":"ok"}"#
        );
        let mut twice = String::new();
        for (i, l) in A.lines().enumerate() {
            twice.push_str(l);
            twice.push('\n');
            if i == 1 {
                twice.push_str(r#"{"crank":2,"vatID":"v2","syscalls":[9],"status":"ok"}"#);
                twice.push('\n');
            }
        }
        assert_eq!(first_difference(A, &again), None);
        assert_eq!(first_difference(A, &twice).map(|d| d.crank), Some(2));
        let behind: String = A.lines().take(2).map(|l| format!("{l}\n")).collect();
        assert_eq!(first_difference(A, &behind), None);
        assert_eq!(first_difference(A, ""), None);
    }
}
