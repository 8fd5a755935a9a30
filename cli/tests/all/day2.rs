//! Golden paths on day 2, on a generated fleet of 1,000 services across every shipped golden
//! path and version, with planted extensions, drift, conflicts and immutable-field changes:
//! `upgrade --all --write` upgrades exactly the clean services and reports every planted
//! conflict and replacement and nothing else; `conform` afterwards shows no drift but the kept
//! extensions; `catalog` gives one entity per service; `outdated` counts them.
//!
//! `PAVED_FLEET_DIR=DIR` only writes the generated fleet there, for timing the commands on it
//! (`bash benches/upgrade-fleet.sh`).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use super::run;

const SERVICES: usize = 1000;
const NOW: &str = "2026-11-30T00:00:00Z";
const TEAMS: [&str; 4] = ["payments", "growth", "search", "data"];
const VERSIONS: [&str; 7] = [
    "web-service@1.0.0",
    "web-service@1.1.0",
    "web-service@2.0.0",
    "worker@1.0.0",
    "worker@2.0.0",
    "cron-job@1.0.0",
    "cron-job@2.0.0",
];

/// What was done to a service's manifests after it was rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plant {
    None,
    /// A change under an extension point: kept.
    Extension,
    /// A label added outside the extension points: reverted.
    Drift,
    /// A field the new version changes too: a conflict.
    Conflict,
    /// A selector label: reverted, so the workload needs a replace.
    Replace,
}

/// The inputs of service `i` for a golden path version.
fn inputs(spec: &str, name: &str, team: &str) -> Value {
    let base = json!({"name": name, "team": team, "costCenter": "cc-3120",
                      "image": format!("registry.acme.dev/{team}/{name}:1.0.0")});
    let extra = match spec {
        "web-service@1.0.0" | "web-service@1.1.0" => {
            json!({"replicas": 3, "environment": "production", "ingress": {"host": format!("{name}.acme.dev"), "className": "nginx"}})
        }
        "web-service@2.0.0" => json!({"tier": "standard", "ingress": {"host": format!("{name}.acme.dev")}}),
        "worker@1.0.0" => json!({"queue": {"name": format!("{name}.events")}}),
        "worker@2.0.0" => json!({"queue": {"topic": format!("{name}.events"), "backend": "rabbitmq"}}),
        "cron-job@1.0.0" => json!({"schedule": "0 3 * * *"}),
        _ => json!({"schedule": "0 3 * * *", "timeZone": "Europe/Berlin"}),
    };
    let mut v = base;
    if let (Some(m), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    v
}

/// The planted change, as (kind, JSON pointer, value), for a golden path.
fn planted_change(plant: Plant, path: &str) -> Option<(&'static str, &'static str, Value)> {
    let workload = if path == "cron-job" { "CronJob" } else { "Deployment" };
    Some(match (plant, path) {
        (Plant::None, _) => return None,
        (Plant::Extension, "web-service") => ("Deployment", "/spec/replicas", json!(5)),
        (Plant::Extension, "worker") => {
            ("Deployment", "/spec/template/metadata/annotations", json!({"acme.dev/profiling": "on"}))
        }
        (Plant::Extension, _) => ("CronJob", "/spec/suspend", json!(true)),
        (Plant::Drift, _) => (workload, "/metadata/labels/hand-edited", json!("yes")),
        (Plant::Conflict, "web-service") => {
            ("Deployment", "/spec/template/spec/containers/0/resources/requests/cpu", json!("300m"))
        }
        (Plant::Conflict, "worker") => {
            ("HorizontalPodAutoscaler", "/spec/metrics/0/external/target/averageValue", json!("80"))
        }
        (Plant::Conflict, _) => ("CronJob", "/spec/timeZone", json!("Europe/Paris")),
        (Plant::Replace, _) => (workload, "/spec/selector/matchLabels/track", json!("stable")),
    })
}

struct Service {
    name: String,
    namespace: String,
    spec: &'static str,
    plant: Plant,
    file: String,
}

impl Service {
    fn path(&self) -> &str {
        self.spec.split('@').next().unwrap_or_default()
    }

    fn current(&self) -> bool {
        self.spec.ends_with("@2.0.0")
    }
}

/// Writes the fleet into `dir`, one file per service, and says what was planted where.
fn generate(dir: &Path) -> Vec<Service> {
    let bundle = paved::Bundle::golden_paths_builtin().unwrap();
    let mut out = Vec::new();
    for i in 0..SERVICES {
        let spec = VERSIONS[i % VERSIONS.len()];
        let team = TEAMS[(i / VERSIONS.len()) % TEAMS.len()];
        let name = format!("svc-{i:04}");
        let current = spec.ends_with("@2.0.0");
        // Services already on the newest version only carry extensions: nothing moves them.
        let plant = match (i / (VERSIONS.len() * TEAMS.len())) % 5 {
            1 => Plant::Extension,
            2 if !current => Plant::Drift,
            3 if !current => Plant::Conflict,
            4 if !current && !spec.starts_with("cron-job") => Plant::Replace,
            _ => Plant::None,
        };
        let g = bundle.golden_path(spec).unwrap();
        let mut manifests = g.render(&inputs(spec, &name, team), &bundle).unwrap().manifests;
        let path = spec.split('@').next().unwrap_or_default();
        if let Some((kind, pointer, value)) = planted_change(plant, path) {
            let object = manifests.iter_mut().find(|m| m["kind"] == kind).unwrap();
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            object.pointer_mut(parent).and_then(Value::as_object_mut).unwrap().insert(key.to_owned(), value);
        }
        let docs: Vec<String> = manifests.iter().map(paved::to_yaml).collect();
        let file = dir.join(format!("{name}.yaml"));
        let text = format!("# {name}, owned by {team}\n---\n{}", docs.join("---\n"));
        std::fs::write(&file, text).unwrap();
        out.push(Service { name, namespace: team.to_owned(), spec, plant, file: file.to_string_lossy().into_owned() });
    }
    out
}

#[test]
fn a_thousand_services_upgrade_as_planted() {
    if let Ok(dir) = std::env::var("PAVED_FLEET_DIR") {
        std::fs::create_dir_all(&dir).unwrap();
        generate(Path::new(&dir));
        return;
    }
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let fleet = generate(dir);
    let dir_text = dir.to_str().unwrap();
    let before: BTreeMap<String, String> =
        fleet.iter().map(|s| (s.file.clone(), std::fs::read_to_string(&s.file).unwrap())).collect();

    // Every golden path version is in the fleet, and every kind of plant.
    for spec in VERSIONS {
        assert!(fleet.iter().any(|s| s.spec == spec), "{spec}");
    }
    for p in [Plant::Extension, Plant::Drift, Plant::Conflict, Plant::Replace] {
        assert!(fleet.iter().filter(|s| s.plant == p).count() >= 20, "{p:?}");
    }

    let (code, json, err) = run(&["upgrade", "--all", dir_text, "--write", "--format", "json"]);
    assert_eq!(code, 1, "conflicts are left: {err}");
    let plan: Value = serde_json::from_str(&json).unwrap();
    let services = plan["services"].as_array().unwrap();
    assert_eq!(services.len(), SERVICES);
    let by_name: BTreeMap<&str, &Value> =
        services.iter().map(|s| (s["service"].as_str().unwrap_or_default(), s)).collect();
    let mut found = BTreeMap::new();
    for s in &fleet {
        let planned = by_name.get(s.name.as_str()).unwrap_or_else(|| panic!("{} is not in the plan", s.name));
        let status = planned["status"].as_str().unwrap();
        *found.entry(status).or_insert(0) += 1;
        if s.current() {
            assert_eq!(status, "current", "{} on {}", s.name, s.spec);
            continue;
        }
        assert_eq!(status, "upgrade", "{}: {planned}", s.name);
        assert_eq!(planned["upgrade"]["to"], format!("{}@2.0.0", s.path()), "{}", s.name);
        let objects = planned["objects"].as_array().unwrap();
        let fields = |outcome: &str| -> Vec<String> {
            objects
                .iter()
                .flat_map(|o| {
                    let kind = o["object"]["kind"].as_str().unwrap_or_default().to_owned();
                    o["fields"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(move |f| f["outcome"] == outcome)
                        .map(move |f| format!("{kind}{}", f["path"].as_str().unwrap_or_default()))
                })
                .collect()
        };
        let replaced: Vec<String> = objects
            .iter()
            .filter(|o| o.get("replace").is_some())
            .map(|o| format!("{} {}", o["object"]["kind"].as_str().unwrap(), o["replace"]))
            .collect();
        let planted = planted_change(s.plant, s.path()).map(|(kind, pointer, _)| format!("{kind}{pointer}"));
        match s.plant {
            Plant::Conflict => {
                assert_eq!(planned["conflicts"], 1, "{}: {:?}", s.name, fields("conflict"));
                assert_eq!(fields("conflict"), [planted.clone().unwrap()], "{}", s.name);
            }
            _ => assert_eq!(planned["conflicts"], 0, "{} ({:?}): {:?}", s.name, s.plant, fields("conflict")),
        }
        let reverted = fields("reverted");
        match s.plant {
            Plant::Drift | Plant::Replace => {
                assert_eq!(reverted, [planted.clone().unwrap()], "{}", s.name);
            }
            _ => assert!(reverted.is_empty(), "{} ({:?}): {reverted:?}", s.name, s.plant),
        }
        if s.plant == Plant::Extension {
            let kept = fields("kept");
            assert!(kept.iter().any(|k| k.starts_with(planted.as_deref().unwrap())), "{}: {kept:?}", s.name);
        }
        if s.plant == Plant::Replace {
            assert_eq!(replaced, [r#"Deployment ["/spec/selector"]"#], "{}", s.name);
        } else {
            assert!(replaced.is_empty(), "{} ({:?}): {replaced:?}", s.name, s.plant);
        }
    }
    let conflicted = fleet.iter().filter(|s| s.plant == Plant::Conflict).count();
    let current = fleet.iter().filter(|s| s.current()).count();
    assert_eq!(plan["summary"]["conflicted"], conflicted);
    assert_eq!(plan["summary"]["current"], current);
    assert_eq!(plan["summary"]["upgraded"], SERVICES - conflicted - current);
    assert_eq!(plan["summary"]["refused"], 0);
    assert_eq!(plan["summary"]["replacements"], fleet.iter().filter(|s| s.plant == Plant::Replace).count());

    // Written: the upgraded services' files changed, the others did not.
    for s in &fleet {
        let now = std::fs::read_to_string(&s.file).unwrap();
        let unchanged = before.get(&s.file) == Some(&now);
        assert_eq!(unchanged, s.current() || s.plant == Plant::Conflict, "{}", s.name);
        assert!(now.starts_with(&format!("# {}, owned by", s.name)), "the header comment stays: {}", s.name);
    }

    // Re-rendered, the upgraded services differ from their golden path only by kept extensions.
    let (_, json, err) = run(&["conform", dir_text, "--format", "json", "--now", NOW]);
    let conformance: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {err}"));
    let services = conformance["services"].as_array().unwrap();
    assert_eq!(services.len(), SERVICES);
    for s in fleet.iter().filter(|s| s.plant != Plant::Conflict) {
        let c = services.iter().find(|c| c["service"] == s.name.as_str()).unwrap();
        assert_eq!(c["goldenPath"], format!("{}@2.0.0", s.path()), "{}", s.name);
        let deviations = c["deviations"].as_array().unwrap();
        assert!(deviations.iter().all(|d| d["kind"] == "extension"), "{}: {deviations:?}", s.name);
        assert_eq!(deviations.is_empty(), s.plant != Plant::Extension, "{} ({:?}): {deviations:?}", s.name, s.plant);
    }

    // One catalog entity per service, named uniquely, owned by its team.
    let (code, json, err) = run(&["catalog", dir_text, "--format", "json", "--now", NOW]);
    assert_eq!(code, 0, "{err}");
    let entities: Vec<Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(entities.len(), SERVICES);
    let names: std::collections::BTreeSet<&str> =
        entities.iter().filter_map(|e| e["metadata"]["name"].as_str()).collect();
    assert_eq!(names.len(), SERVICES);
    for s in &fleet {
        let e = entities.iter().find(|e| e["metadata"]["name"] == s.name.as_str()).unwrap();
        assert_eq!(e["spec"]["owner"], format!("group:default/{}", s.namespace));
        assert_eq!(e["metadata"]["annotations"]["backstage.io/kubernetes-id"], s.name.as_str());
        // The conflicted services stay where they were: on a deprecated version, deprecated.
        let deprecated = s.plant == Plant::Conflict && matches!(s.spec, "web-service@1.0.0" | "cron-job@1.0.0");
        assert_eq!(e["spec"]["lifecycle"] == "deprecated", deprecated, "{}: {e}", s.name);
    }

    // Adoption: every service is known, the conflicted ones behind.
    let (_, json, _) = run(&["outdated", dir_text, "--format", "json", "--now", NOW]);
    let fleet_report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(fleet_report["summary"]["services"], SERVICES);
    assert_eq!(fleet_report["summary"]["current"], SERVICES - conflicted);
    assert_eq!(fleet_report["summary"]["adoptionRate"], 1.0);
}
