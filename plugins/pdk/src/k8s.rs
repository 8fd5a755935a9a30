//! The parts of a Kubernetes object most checks read, typed.
//!
//! [`Object`] reads metadata, replicas and the containers of a Pod or of any workload's pod
//! template (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob), and skips
//! everything else without building it, which keeps parsing a 3 KB Deployment cheap.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};

/// A Kubernetes object, as far as policy checks usually need it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Object {
    /// `apps/v1`, `v1`, ...
    pub api_version: String,
    /// `Deployment`, `Pod`, ...
    pub kind: String,
    /// Name, namespace, labels, annotations.
    pub metadata: ObjectMeta,
    spec: Option<Spec>,
}

/// `metadata` of an object or a pod template.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ObjectMeta {
    /// Name (empty when the object has only `generateName`).
    pub name: String,
    /// Namespace, when given.
    pub namespace: Option<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
}

/// A container of a pod.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Container {
    /// Name.
    pub name: String,
    /// Image reference.
    pub image: String,
    /// Requests and limits.
    pub resources: Resources,
}

/// `resources` of a container.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Resources {
    /// `cpu`, `memory`, ... requested.
    pub requests: BTreeMap<String, Quantity>,
    /// `cpu`, `memory`, ... limits.
    pub limits: BTreeMap<String, Quantity>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Spec {
    replicas: Option<u32>,
    parallelism: Option<u32>,
    // A Pod's own containers; listed here rather than flattened, which would buffer every field.
    init_containers: Vec<Container>,
    containers: Vec<Container>,
    ephemeral_containers: Vec<Container>,
    template: Option<Template>,
    job_template: Option<JobTemplate>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PodSpec {
    init_containers: Vec<Container>,
    containers: Vec<Container>,
    ephemeral_containers: Vec<Container>,
}

impl PodSpec {
    fn lists(&self) -> [&Vec<Container>; 3] {
        [&self.init_containers, &self.containers, &self.ephemeral_containers]
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
struct Template {
    metadata: ObjectMeta,
    spec: PodSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
struct JobTemplate {
    spec: JobSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
struct JobSpec {
    parallelism: Option<u32>,
    template: Template,
}

impl Object {
    /// The pod spec and its JSON pointer: the object's own for a Pod, else its pod template's.
    ///
    /// The kinds are the paved host's (`wit/testdata/pod-specs.json`): a Pod of the core group,
    /// and the built-in controllers of their own API groups; a custom resource that happens to
    /// have a `spec.template` is not a pod controller.
    fn pod(&self) -> Option<(&'static str, [&Vec<Container>; 3])> {
        let spec = self.spec.as_ref()?;
        let group = self.api_version.rsplit_once('/').map_or("", |(g, _)| g);
        match (group, self.kind.as_str()) {
            ("", "Pod") => Some(("/spec", [&spec.init_containers, &spec.containers, &spec.ephemeral_containers])),
            ("batch", "CronJob") => spec
                .job_template
                .as_ref()
                .map(|j| ("/spec/jobTemplate/spec/template/spec", j.spec.template.spec.lists())),
            ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
            | ("batch", "Job")
            | ("", "ReplicationController") => spec.template.as_ref().map(|t| ("/spec/template/spec", t.spec.lists())),
            _ => None,
        }
    }

    /// Every init, regular and ephemeral container, with its JSON pointer.
    pub fn containers(&self) -> Vec<(String, &Container)> {
        let Some((base, pod)) = self.pod() else {
            return Vec::new();
        };
        ["initContainers", "containers", "ephemeralContainers"]
            .into_iter()
            .zip(pod)
            .flat_map(|(field, list)| list.iter().enumerate().map(move |(i, c)| (format!("{base}/{field}/{i}"), c)))
            .collect()
    }

    /// Labels of the pods it runs (the template's for workloads, its own for a Pod).
    pub fn pod_labels(&self) -> &BTreeMap<String, String> {
        let template = self.spec.as_ref().and_then(|s| match self.kind.as_str() {
            "CronJob" => s.job_template.as_ref().map(|j| &j.spec.template.metadata.labels),
            _ => s.template.as_ref().map(|t| &t.metadata.labels),
        });
        template.unwrap_or(&self.metadata.labels)
    }

    /// How many pods it runs at once: `replicas` (default 1), a Job's `parallelism`, 1 for a
    /// Pod or a DaemonSet (per node).
    pub fn replicas(&self) -> u32 {
        let Some(spec) = &self.spec else {
            return 1;
        };
        match self.kind.as_str() {
            "Job" => spec.parallelism.unwrap_or(1),
            "CronJob" => spec.job_template.as_ref().and_then(|j| j.spec.parallelism).unwrap_or(1),
            _ => spec.replicas.unwrap_or(1),
        }
    }
}

/// A Kubernetes resource quantity as written (`250m`, `1.5`, `512Mi`, `2G`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quantity(pub String);

impl Quantity {
    /// The value as a number in base units: cores for CPU, bytes for memory. Reads what the
    /// paved host reads (`250m`, `1.5`, `2G`, `512Mi`, `1Ei`, `1e3`), tested on the same table
    /// (`wit/testdata/quantities.json`).
    pub fn value(&self) -> Option<f64> {
        let s = self.0.trim();
        let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-')).unwrap_or(s.len());
        let (number, suffix) = s.split_at(split);
        let number: f64 = number.parse().ok()?;
        let factor = match suffix {
            "" => 1.0,
            "m" => 1e-3,
            "k" => 1e3,
            "M" => 1e6,
            "G" => 1e9,
            "T" => 1e12,
            "P" => 1e15,
            "E" => 1e18,
            "Ki" => 1024.0,
            "Mi" => 1024f64.powi(2),
            "Gi" => 1024f64.powi(3),
            "Ti" => 1024f64.powi(4),
            "Pi" => 1024f64.powi(5),
            "Ei" => 1024f64.powi(6),
            e => 10f64.powi(e.strip_prefix(['e', 'E'])?.parse().ok()?),
        };
        Some(number * factor)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Q;
        impl Visitor<'_> for Q {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quantity such as 250m or 512Mi")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
                Ok(Quantity(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
        }
        d.deserialize_any(Q)
    }
}

#[cfg(test)]
mod tests {
    /// The table the paved host is tested on too (`core/src/k8s.rs`).
    #[test]
    fn quantities_follow_the_shared_table() {
        let cases: Vec<(String, Option<f64>)> =
            serde_json::from_str(include_str!("../../../wit/testdata/quantities.json")).unwrap();
        for (text, want) in cases {
            assert_eq!(super::Quantity(text.clone()).value(), want, "{text}");
        }
    }

    use super::*;

    /// Which objects have a pod spec, and where: the table the paved host is tested on too.
    #[test]
    fn pod_specs_follow_the_shared_table() {
        let cases: Vec<(String, String, Option<String>)> =
            serde_json::from_str(include_str!("../../../wit/testdata/pod-specs.json")).unwrap();
        for (api_version, kind, want) in cases {
            let object: Object = serde_json::from_value(serde_json::json!({
                "apiVersion": api_version, "kind": kind,
                "spec": {
                    "containers": [{"name": "c"}],
                    "template": {"spec": {"containers": [{"name": "c"}]}},
                    "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c"}]}}}}
                }
            }))
            .unwrap();
            let got = object.containers().first().map(|(p, _)| p.trim_end_matches("/containers/0").to_owned());
            assert_eq!(got, want, "{api_version} {kind}");
        }
    }

    #[test]
    fn workloads_and_pods() {
        let d: Object = serde_json::from_str(
            r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop"},
                "spec":{"replicas":3,"template":{"metadata":{"labels":{"team":"a"}},
                "spec":{"containers":[{"name":"app","image":"nginx","resources":{"requests":{"cpu":"250m","memory":"1Gi"}}}],
                "volumes":[{"name":"x","emptyDir":{}}]}}}}"#,
        )
        .unwrap();
        assert_eq!(d.replicas(), 3);
        let cs = d.containers();
        assert_eq!(cs[0].0, "/spec/template/spec/containers/0");
        assert_eq!(cs[0].1.resources.requests["cpu"].value(), Some(0.25));
        assert_eq!(cs[0].1.resources.requests["memory"].value(), Some(1_073_741_824.0));
        assert_eq!(d.pod_labels()["team"], "a");

        let cron: Object = serde_json::from_str(
            r#"{"apiVersion":"batch/v1","kind":"CronJob","spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"j","image":"busybox","resources":{"requests":{"cpu":1}}}]}}}}}}"#,
        )
        .unwrap();
        assert_eq!(cron.containers()[0].0, "/spec/jobTemplate/spec/template/spec/containers/0");
        assert_eq!(cron.containers()[0].1.resources.requests["cpu"].value(), Some(1.0));
    }
}
