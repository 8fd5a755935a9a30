//! Fields the API server owns: what it manages and assigns, what it defaults, and what it will
//! not change in place. Pointer patterns (`*` for any list item or key), by kind.

/// Fields the API server manages: never drift.
pub(crate) const SERVER_MANAGED: &[&str] = &[
    "/status",
    "/metadata/uid",
    "/metadata/resourceVersion",
    "/metadata/generation",
    "/metadata/creationTimestamp",
    "/metadata/managedFields",
    "/metadata/selfLink",
    "/metadata/deletionTimestamp",
    "/metadata/deletionGracePeriodSeconds",
    "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration",
    "/metadata/annotations/deployment.kubernetes.io~1revision",
    "/spec/template/metadata/creationTimestamp",
    "/spec/jobTemplate/metadata/creationTimestamp",
    "/spec/jobTemplate/spec/template/metadata/creationTimestamp",
];

/// Service fields the API server assigns.
pub(crate) const SERVICE_ASSIGNED: &[&str] =
    &["/spec/clusterIP", "/spec/clusterIPs", "/spec/ipFamilies", "/spec/ipFamilyPolicy"];

/// Pod fields the API server fills in with these values when a manifest leaves them out.
pub(crate) const POD_DEFAULTS: &[(&str, &str)] = &[
    ("/restartPolicy", r#""Always""#),
    ("/dnsPolicy", r#""ClusterFirst""#),
    ("/schedulerName", r#""default-scheduler""#),
    ("/securityContext", "{}"),
    ("/terminationGracePeriodSeconds", "30"),
    ("/containers/*/terminationMessagePath", r#""/dev/termination-log""#),
    ("/containers/*/terminationMessagePolicy", r#""File""#),
    ("/containers/*/imagePullPolicy", r#""IfNotPresent""#),
    ("/containers/*/resources", "{}"),
    ("/containers/*/ports/*/protocol", r#""TCP""#),
    ("/containers/*/livenessProbe/timeoutSeconds", "1"),
    ("/containers/*/livenessProbe/successThreshold", "1"),
    ("/containers/*/livenessProbe/failureThreshold", "3"),
    ("/containers/*/livenessProbe/periodSeconds", "10"),
    ("/containers/*/livenessProbe/httpGet/scheme", r#""HTTP""#),
    ("/containers/*/readinessProbe/timeoutSeconds", "1"),
    ("/containers/*/readinessProbe/successThreshold", "1"),
    ("/containers/*/readinessProbe/failureThreshold", "3"),
    ("/containers/*/readinessProbe/periodSeconds", "10"),
    ("/containers/*/readinessProbe/httpGet/scheme", r#""HTTP""#),
];

/// Other fields the API server defaults, by kind, from Kubernetes' defaulting functions
/// (`pkg/apis/{apps,batch,core,networking,autoscaling,policy}/v1*/defaults.go`). A default set on
/// Differences are compared leaf by leaf, so defaults are listed as leaves.
pub(crate) const KIND_DEFAULTS: &[(&str, &str, &str)] = &[
    ("Deployment", "/spec/replicas", "1"),
    ("Deployment", "/spec/revisionHistoryLimit", "10"),
    ("Deployment", "/spec/progressDeadlineSeconds", "600"),
    ("Deployment", "/spec/strategy/type", r#""RollingUpdate""#),
    ("Deployment", "/spec/strategy/rollingUpdate/maxSurge", r#""25%""#),
    ("Deployment", "/spec/strategy/rollingUpdate/maxUnavailable", r#""25%""#),
    ("StatefulSet", "/spec/replicas", "1"),
    ("StatefulSet", "/spec/podManagementPolicy", r#""OrderedReady""#),
    ("StatefulSet", "/spec/revisionHistoryLimit", "10"),
    ("StatefulSet", "/spec/minReadySeconds", "0"),
    ("StatefulSet", "/spec/updateStrategy/rollingUpdate/partition", "0"),
    ("StatefulSet", "/spec/updateStrategy/type", r#""RollingUpdate""#),
    ("StatefulSet", "/spec/persistentVolumeClaimRetentionPolicy/whenDeleted", r#""Retain""#),
    ("StatefulSet", "/spec/persistentVolumeClaimRetentionPolicy/whenScaled", r#""Retain""#),
    ("StatefulSet", "/spec/volumeClaimTemplates/*/apiVersion", r#""v1""#),
    ("StatefulSet", "/spec/volumeClaimTemplates/*/kind", r#""PersistentVolumeClaim""#),
    ("StatefulSet", "/spec/volumeClaimTemplates/*/spec/volumeMode", r#""Filesystem""#),
    ("StatefulSet", "/spec/volumeClaimTemplates/*/status/phase", r#""Pending""#),
    ("DaemonSet", "/spec/revisionHistoryLimit", "10"),
    ("DaemonSet", "/spec/updateStrategy/type", r#""RollingUpdate""#),
    ("DaemonSet", "/spec/updateStrategy/rollingUpdate/maxSurge", "0"),
    ("DaemonSet", "/spec/updateStrategy/rollingUpdate/maxUnavailable", "1"),
    ("Job", "/spec/backoffLimit", "6"),
    ("Job", "/spec/completions", "1"),
    ("Job", "/spec/parallelism", "1"),
    ("Job", "/spec/completionMode", r#""NonIndexed""#),
    ("Job", "/spec/suspend", "false"),
    ("Job", "/spec/podReplacementPolicy", r#""TerminatingOrFailed""#),
    ("Job", "/spec/manualSelector", "false"),
    ("CronJob", "/spec/suspend", "false"),
    ("CronJob", "/spec/concurrencyPolicy", r#""Allow""#),
    ("CronJob", "/spec/successfulJobsHistoryLimit", "3"),
    ("CronJob", "/spec/failedJobsHistoryLimit", "1"),
    ("CronJob", "/spec/jobTemplate/spec/backoffLimit", "6"),
    ("CronJob", "/spec/jobTemplate/spec/completionMode", r#""NonIndexed""#),
    ("CronJob", "/spec/jobTemplate/spec/suspend", "false"),
    ("CronJob", "/spec/jobTemplate/spec/podReplacementPolicy", r#""TerminatingOrFailed""#),
    ("Service", "/spec/type", r#""ClusterIP""#),
    ("Service", "/spec/sessionAffinity", r#""None""#),
    ("Service", "/spec/internalTrafficPolicy", r#""Cluster""#),
    ("Service", "/spec/ports/*/protocol", r#""TCP""#),
    ("HorizontalPodAutoscaler", "/spec/minReplicas", "1"),
    // With no metrics, the API server targets 80% CPU.
    ("HorizontalPodAutoscaler", "/spec/metrics/0/type", r#""Resource""#),
    ("HorizontalPodAutoscaler", "/spec/metrics/0/resource/name", r#""cpu""#),
    ("HorizontalPodAutoscaler", "/spec/metrics/0/resource/target/type", r#""Utilization""#),
    ("HorizontalPodAutoscaler", "/spec/metrics/0/resource/target/averageUtilization", "80"),
    ("PodDisruptionBudget", "/spec/unhealthyPodEvictionPolicy", r#""IfHealthyBudget""#),
    ("NetworkPolicy", "/spec/ingress/*/ports/*/protocol", r#""TCP""#),
    ("NetworkPolicy", "/spec/egress/*/ports/*/protocol", r#""TCP""#),
    ("PersistentVolumeClaim", "/spec/volumeMode", r#""Filesystem""#),
];

/// Fields the API server or its admission plugins fill in from the object or the cluster, by
/// kind: never drift when the render leaves them out.
pub(crate) const KIND_ASSIGNED: &[(&str, &str)] = &[
    // The Job controller's selector and the labels it matches (batch/v1 defaults.go).
    ("Job", "/spec/selector"),
    ("Job", "/spec/template/metadata/labels/batch.kubernetes.io~1controller-uid"),
    ("Job", "/spec/template/metadata/labels/batch.kubernetes.io~1job-name"),
    ("Job", "/spec/template/metadata/labels/controller-uid"),
    ("Job", "/spec/template/metadata/labels/job-name"),
    // The DefaultStorageClass admission plugin.
    ("PersistentVolumeClaim", "/spec/storageClassName"),
    ("StatefulSet", "/spec/volumeClaimTemplates/*/spec/storageClassName"),
];

/// Fields Kubernetes does not change in place, by kind: (kind, pointer pattern). For the kinds
/// in [`MUTABLE_ONLY`], every field under `/spec` but the listed ones.
pub(crate) const IMMUTABLE: &[(&str, &str)] = &[
    ("Deployment", "/spec/selector"),
    ("ReplicaSet", "/spec/selector"),
    ("DaemonSet", "/spec/selector"),
    ("Job", "/spec/selector"),
    ("Job", "/spec/template"),
    ("Job", "/spec/completionMode"),
    ("Service", "/spec/clusterIP"),
    ("Service", "/spec/clusterIPs"),
    ("Secret", "/type"),
    ("RoleBinding", "/roleRef"),
    ("ClusterRoleBinding", "/roleRef"),
];

/// Kinds whose `/spec` is immutable but for these fields (Kubernetes' validation of updates).
pub(crate) const MUTABLE_ONLY: &[(&str, &[&str])] = &[
    (
        "StatefulSet",
        &[
            "/spec/replicas",
            "/spec/ordinals",
            "/spec/template",
            "/spec/updateStrategy",
            "/spec/persistentVolumeClaimRetentionPolicy",
            "/spec/minReadySeconds",
        ],
    ),
    ("PersistentVolumeClaim", &["/spec/resources/requests", "/spec/volumeAttributesClassName"]),
    (
        "Pod",
        &[
            "/spec/containers/*/image",
            "/spec/initContainers/*/image",
            "/spec/activeDeadlineSeconds",
            "/spec/tolerations",
            "/spec/terminationGracePeriodSeconds",
            "/spec/schedulingGates",
        ],
    ),
];
