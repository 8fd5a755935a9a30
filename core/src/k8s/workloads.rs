//! Where each workload controller keeps its pod template, and what scales it.

use super::object::split_api_version;

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
