//! Kubernetes facts every part of paved agrees on: where a controller keeps its pod template,
//! how a quantity reads, how an apiVersion splits, and how a name glob matches. One table each,
//! so the evaluator, golden paths and the plugin host cannot disagree (the plugin SDK in
//! `plugins/pdk` follows the same table, tested on the same cases).

pub(crate) mod schema;

use globset::{Glob, GlobMatcher};
use serde_json::Value;

/// A pod controller: its API group, kind, where its pod template is, and what scales it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Controller {
    pub group: &'static str,
    pub kind: &'static str,
    /// JSON pointer of the pod template (`metadata` and `spec` of the pods it creates).
    pub template: &'static str,
    /// JSON pointer of its replica count, when it has one (a DaemonSet runs one per node).
    pub replicas: Option<&'static str>,
}

/// Every built-in controller that creates pods from a template.
pub(crate) const CONTROLLERS: &[Controller] = &[
    Controller { group: "apps", kind: "Deployment", template: "/spec/template", replicas: Some("/spec/replicas") },
    Controller { group: "apps", kind: "StatefulSet", template: "/spec/template", replicas: Some("/spec/replicas") },
    Controller { group: "apps", kind: "DaemonSet", template: "/spec/template", replicas: None },
    Controller { group: "apps", kind: "ReplicaSet", template: "/spec/template", replicas: Some("/spec/replicas") },
    Controller { group: "batch", kind: "Job", template: "/spec/template", replicas: Some("/spec/parallelism") },
    Controller {
        group: "batch",
        kind: "CronJob",
        template: "/spec/jobTemplate/spec/template",
        replicas: Some("/spec/jobTemplate/spec/parallelism"),
    },
    Controller {
        group: "",
        kind: "ReplicationController",
        template: "/spec/template",
        replicas: Some("/spec/replicas"),
    },
];

/// The controller of this API group and kind, if it is one.
pub(crate) fn controller(group: &str, kind: &str) -> Option<&'static Controller> {
    CONTROLLERS.iter().find(|c| c.group == group && c.kind == kind)
}

/// Where the pod spec of an object of this kind is: `/spec` for a Pod, the template's spec for a
/// controller. The apiVersion's group must be the controller's.
pub(crate) fn pod_spec(api_version: &str, kind: &str) -> Option<String> {
    let (group, _) = split_api_version(api_version);
    if group.is_empty() && kind == "Pod" {
        return Some("/spec".into());
    }
    controller(group, kind).map(|c| format!("{}/spec", c.template))
}

/// The container lists of a pod spec.
pub(crate) const CONTAINER_LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

/// Splits `apiVersion` into group and version (`v1` is the core group).
pub(crate) fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

/// A compiled glob; `*` and `?` as usual, and a plain word matches itself exactly.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    text: String,
    matcher: Option<GlobMatcher>,
}

impl Pattern {
    pub(crate) fn new(text: &str) -> Result<Self, String> {
        let matcher = if text.contains(['*', '?', '[', '{']) {
            Some(Glob::new(text).map_err(|e| format!("invalid glob `{text}`: {}", e.kind()))?.compile_matcher())
        } else {
            None
        };
        Ok(Pattern { text: text.to_owned(), matcher })
    }

    pub(crate) fn matches(&self, s: &str) -> bool {
        match &self.matcher {
            Some(m) => m.is_match(s),
            None => self.text == s,
        }
    }

    /// The literal text, when the pattern has no wildcard.
    pub(crate) fn literal(&self) -> Option<&str> {
        self.matcher.is_none().then_some(self.text.as_str())
    }
}

/// A Kubernetes quantity (`250m`, `1.5`, `512Mi`, `1e3`, `2G`) as a number.
pub(crate) fn quantity(v: &Value) -> Option<f64> {
    if let Some(n) = v.as_f64() {
        return Some(n);
    }
    let s = v.as_str()?.trim();
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

/// Millicores as Kubernetes writes them: `750m`, or `2` for whole cores.
pub(crate) fn format_cpu(millis: u64) -> String {
    if millis.is_multiple_of(1000) {
        format!("{}", millis / 1000)
    } else {
        format!("{millis}m")
    }
}

/// Bytes in the largest binary unit that divides them: `768Mi`, `2Gi`.
pub(crate) fn format_memory(bytes: u64) -> String {
    for (unit, size) in [("Ti", 1u64 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{}{unit}", bytes / size);
        }
    }
    bytes.to_string()
}

/// Kubernetes' cluster-scoped kinds, by group (`""` for the core group).
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("", "ComponentStatus"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("storage.k8s.io", "VolumeAttributesClass"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("node.k8s.io", "RuntimeClass"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "IPAddress"),
    ("networking.k8s.io", "ServiceCIDR"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("certificates.k8s.io", "ClusterTrustBundle"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("policy", "PodSecurityPolicy"),
    ("resource.k8s.io", "DeviceClass"),
    ("resource.k8s.io", "ResourceSlice"),
    ("internal.apiserver.k8s.io", "StorageVersion"),
    ("authentication.k8s.io", "TokenReview"),
    ("authentication.k8s.io", "SelfSubjectReview"),
    ("authorization.k8s.io", "SubjectAccessReview"),
    ("authorization.k8s.io", "SelfSubjectAccessReview"),
    ("authorization.k8s.io", "SelfSubjectRulesReview"),
];

/// Whether objects of a kind live in a namespace: built-in kinds as Kubernetes scopes them,
/// custom resources as their CustomResourceDefinition says (unknown ones are not assumed to).
pub(crate) fn namespaced(group: &str, kind: &str, crds: &schema::Crds) -> bool {
    if CLUSTER_SCOPED.contains(&(group, kind)) {
        return false;
    }
    match crds.scope(group, kind) {
        Some(namespaced) => namespaced,
        // Kubernetes' own groups: the core group, `apps`, `batch`, ... and `*.k8s.io`.
        None => !group.contains('.') || group.ends_with(".k8s.io"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The table the plugin SDK is tested on too (`plugins/pdk`), so host and guest agree.
    const QUANTITIES: &str = include_str!("../../../wit/testdata/quantities.json");
    const GLOBS: &str = include_str!("../../../wit/testdata/globs.json");

    #[test]
    fn quantities_follow_the_shared_table() {
        let cases: Vec<(String, Option<f64>)> = serde_json::from_str(QUANTITIES).unwrap();
        assert!(cases.len() > 10);
        for (text, want) in cases {
            assert_eq!(quantity(&json!(text)), want, "{text}");
        }
        assert_eq!(quantity(&json!(2)), Some(2.0));
        assert_eq!(format_cpu(1500), "1500m");
        assert_eq!(format_cpu(2000), "2");
        assert_eq!(format_memory(768 << 20), "768Mi");
        assert_eq!(format_memory(2 << 30), "2Gi");
    }

    #[test]
    fn globs_follow_the_shared_table() {
        let cases: Vec<(String, String, bool)> = serde_json::from_str(GLOBS).unwrap();
        for (pattern, text, want) in cases {
            assert_eq!(Pattern::new(&pattern).unwrap().matches(&text), want, "{pattern} ~ {text}");
        }
    }

    #[test]
    fn pod_specs_follow_the_shared_table() {
        let cases: Vec<(String, String, Option<String>)> =
            serde_json::from_str(include_str!("../../../wit/testdata/pod-specs.json")).unwrap();
        for (api_version, kind, want) in cases {
            assert_eq!(pod_spec(&api_version, &kind), want, "{api_version} {kind}");
        }
    }
}
