//! Agreement with Kubernetes' Pod Security Admission, on its own fixtures, read in place from
//! `../shared/conformance/pod-security-admission/`: a `fail` fixture must get a Deny finding
//! whose rule id is the fixture's check id, a `pass` fixture no Deny finding, at that level and
//! with `kubernetesVersion` set to the folder's version.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use paved::{Bundle, Context, Engine, Resource};
use serde_json::json;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/pod-security-admission")
}

fn versions(level_dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(level_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("v1."))
        .collect();
    v.sort_by_key(|n| n.trim_start_matches("v1.").parse::<u32>().unwrap_or(0));
    v
}

struct Tally {
    agreed: usize,
    total: usize,
    disagreements: Vec<String>,
}

fn run_level(level: &str, only_version: Option<&str>) -> BTreeMap<String, Tally> {
    let engine = Engine::builder().bundle(Bundle::pack(&format!("pod-security-{level}")).unwrap()).build().unwrap();
    let dir = fixtures().join(level);
    let mut out = BTreeMap::new();
    for version in versions(&dir) {
        if only_version.is_some_and(|v| v != version) {
            continue;
        }
        let mut ctx = Context::at("2026-01-01T00:00:00Z".parse().unwrap());
        for policy in ["pod-security-baseline", "pod-security-restricted"] {
            ctx.params.insert(policy.into(), json!({"kubernetesVersion": version}));
        }
        let mut tally = Tally { agreed: 0, total: 0, disagreements: Vec::new() };
        for expect in ["pass", "fail"] {
            let mut files: Vec<PathBuf> =
                std::fs::read_dir(dir.join(&version).join(expect)).unwrap().map(|e| e.unwrap().path()).collect();
            files.sort();
            for f in files {
                let name = f.file_stem().unwrap().to_string_lossy().into_owned();
                let check = name.trim_end_matches(|c: char| c.is_ascii_digit()).to_owned();
                let resources = Resource::from_paths(std::slice::from_ref(&f)).unwrap();
                let report = engine.evaluate(&resources, &ctx);
                let denied: Vec<String> = report
                    .findings
                    .iter()
                    .filter(|x| x.action == paved::Action::Deny && x.waived_by.is_none())
                    .map(|x| x.rule.to_lowercase())
                    .collect();
                let ok = match expect {
                    "pass" => denied.is_empty(),
                    _ => denied.contains(&check),
                };
                tally.total += 1;
                if ok {
                    tally.agreed += 1;
                } else {
                    let errors: Vec<&str> =
                        report.findings.iter().filter_map(|x| x.error.as_ref().map(|e| e.message.as_str())).collect();
                    tally.disagreements.push(format!("{version}/{expect}/{name}: denied by {denied:?} {errors:?}"));
                }
            }
        }
        out.insert(version, tally);
    }
    out
}

fn report(level: &str, tallies: &BTreeMap<String, Tally>) -> (usize, usize) {
    let agreed: usize = tallies.values().map(|t| t.agreed).sum();
    let total: usize = tallies.values().map(|t| t.total).sum();
    println!("pod-security-{level}: {agreed}/{total} fixtures agree with Pod Security Admission");
    for (v, t) in tallies {
        if t.agreed != t.total {
            println!("  {v}: {}/{}", t.agreed, t.total);
        }
    }
    (agreed, total)
}

#[test]
fn latest_version_agrees_on_every_fixture() {
    for level in ["baseline", "restricted"] {
        let tallies = run_level(level, Some("v1.37"));
        let (agreed, total) = report(level, &tallies);
        let problems: Vec<&String> = tallies.values().flat_map(|t| &t.disagreements).collect();
        assert!(total > 40, "the v1.37 fixtures are missing");
        assert_eq!(agreed, total, "{level} v1.37 disagreements:\n{problems:#?}");
    }
}

#[test]
fn every_version_agrees_on_every_fixture() {
    let mut all = Vec::new();
    let mut grand = (0, 0);
    for level in ["baseline", "restricted"] {
        let tallies = run_level(level, None);
        let (a, t) = report(level, &tallies);
        grand = (grand.0 + a, grand.1 + t);
        all.extend(tallies.into_values().flat_map(|t| t.disagreements));
    }
    println!("all versions: {}/{} fixtures agree", grand.0, grand.1);
    assert_eq!(grand.1, 4537, "expected every fixture of every version");
    assert!(all.is_empty(), "{} disagreements:\n{}", all.len(), all.join("\n"));
}
