//! Kinds and their scopes: which objects live in a namespace.

use super::schema::Crds;

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
    ("resource.k8s.io", "DeviceTaintRule"),
    ("storagemigration.k8s.io", "StorageVersionMigration"),
    ("internal.apiserver.k8s.io", "StorageVersion"),
    ("authentication.k8s.io", "TokenReview"),
    ("authentication.k8s.io", "SelfSubjectReview"),
    ("authorization.k8s.io", "SubjectAccessReview"),
    ("authorization.k8s.io", "SelfSubjectAccessReview"),
    ("authorization.k8s.io", "SelfSubjectRulesReview"),
];

/// Whether objects of a kind live in a namespace: built-in kinds as Kubernetes scopes them,
/// custom resources as their CustomResourceDefinition says (unknown ones are not assumed to).
pub(crate) fn namespaced(group: &str, kind: &str, crds: &Crds) -> bool {
    if CLUSTER_SCOPED.contains(&(group, kind)) {
        return false;
    }
    match crds.scope(group, kind) {
        Some(namespaced) => namespaced,
        // Kubernetes' own groups: the core group, `apps`, `batch`, ... and `*.k8s.io`.
        None => !group.contains('.') || group.ends_with(".k8s.io"),
    }
}

/// The resource (plural) name of a kind as Kubernetes names its built-in kinds' resources
/// (`Pod` → `pods`, `Ingress` → `ingresses`, `NetworkPolicy` → `networkpolicies`, `Endpoints`
/// → `endpoints`): the API server's own guess from a kind, which every built-in kind follows.
/// A custom resource's plural is its definition's `spec.names.plural`.
/// Whether `resource` is [`resource_of`] `kind`, without making the name (it is asked for each
/// object a resource rule meets).
pub(crate) fn is_resource_of(resource: &str, kind: &str) -> bool {
    // `resource` without its suffix is `kind` without `cut` last characters, in lower case.
    let stem = |suffix: &str, cut: usize| {
        let (Some(r), Some(k)) = (resource.strip_suffix(suffix), kind.get(..kind.len().saturating_sub(cut))) else {
            return false;
        };
        r.eq_ignore_ascii_case(k)
    };
    let last = kind.chars().next_back().map(|c| c.to_ascii_lowercase());
    let endpoints = kind.len() >= 9 && kind.get(kind.len() - 9..).is_some_and(|e| e.eq_ignore_ascii_case("endpoints"));
    !resource.bytes().any(|b| b.is_ascii_uppercase())
        && match last {
            _ if endpoints => resource.eq_ignore_ascii_case(kind),
            Some('y') => stem("ies", 1),
            Some('s') => stem("es", 0),
            _ => stem("s", 0),
        }
}

pub(crate) fn resource_of(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    if lower.ends_with("endpoints") {
        return lower;
    }
    match lower.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None if lower.ends_with('s') => format!("{lower}es"),
        None => format!("{lower}s"),
    }
}
