//! Prometheus metrics (`/metrics`, text format): every answer, every way a request went wrong,
//! every reload, and the exceptions in force.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Answer {
    /// `allow`, `warn` (allowed with warnings) or `deny`.
    pub decision: String,
    pub operation: String,
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Cause {
    pub cause: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Outcome {
    /// `success` or `failure`.
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Mutation {
    pub policy: String,
    pub mutation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Kind {
    /// `apiVersion/kind`.
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Status {
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub(crate) struct Service {
    pub namespace: String,
    pub service: String,
    /// `name@version`.
    pub golden_path: String,
    /// `current`, `patch`, `minor` or `major` (versions behind), `unknown` when the claim is.
    pub behind: String,
    /// Whether the version is past its sunset.
    pub sunset: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Verdict {
    pub policy: String,
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Pass {
    /// `full` or `namespace`.
    pub pass: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Write {
    /// `applied`, `deleted` or `unchanged`.
    pub operation: String,
}

/// The audit's metrics (`paved serve --audit`).
#[derive(Clone)]
pub(crate) struct Audit {
    pub objects: Counter,
    pub results: Family<Verdict, Gauge>,
    pub durations: Family<Pass, Histogram, fn() -> Histogram>,
    pub writes: Family<Write, Counter>,
    pub errors: Family<Cause, Counter>,
    pub shards: Gauge,
    pub watch_errors: Family<Kind, Counter>,
    pub drift: Family<Service, Gauge>,
    pub services: Family<Status, Gauge>,
}

impl Audit {
    fn register(registry: &mut Registry) -> Audit {
        let audit = Audit {
            objects: Counter::default(),
            results: Family::default(),
            durations: Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.01, 2.0, 16))),
            writes: Family::default(),
            errors: Family::default(),
            shards: Gauge::default(),
            watch_errors: Family::default(),
            drift: Family::default(),
            services: Family::default(),
        };
        registry.register("audit_objects", "Objects the audit evaluated", audit.objects.clone());
        registry.register(
            "audit_results",
            "Results in the reports this replica keeps, by policy and result (pass, fail, warn, error, skip)",
            audit.results.clone(),
        );
        registry.register("audit_duration_seconds", "Audit passes, by kind of pass", audit.durations.clone());
        registry.register(
            "audit_report_writes",
            "Reports applied, deleted, or left as they were because nothing changed",
            audit.writes.clone(),
        );
        registry.register("audit_errors", "Audit failures, by cause (list, write, lease)", audit.errors.clone());
        registry.register("audit_shards_held", "Audit shards this replica holds the lease of", audit.shards.clone());
        registry.register(
            "audit_watch_errors",
            "Errors of the audit's watches (each retried with backoff), by kind",
            audit.watch_errors.clone(),
        );
        registry.register(
            "drift_score",
            "Each service's drift score from its golden path (0: as rendered)",
            audit.drift.clone(),
        );
        registry.register(
            "golden_path_services",
            "Services audited on a golden path, by status: current or behind (versions), sunset (past its version's sunset), drifted (not what its golden path renders)",
            audit.services.clone(),
        );
        audit
    }

    pub(crate) fn error(&self, cause: &str) {
        self.errors.get_or_create(&Cause { cause: cause.to_owned() }).inc();
    }

    pub(crate) fn written(&self, applied: u64, deleted: u64, unchanged: u64) {
        for (operation, n) in [("applied", applied), ("deleted", deleted), ("unchanged", unchanged)] {
            self.writes.get_or_create(&Write { operation: operation.to_owned() }).inc_by(n);
        }
    }

    pub(crate) fn duration(&self, pass: &str, took: std::time::Duration) {
        self.durations.get_or_create(&Pass { pass: pass.to_owned() }).observe(took.as_secs_f64());
    }

    pub(crate) fn results(&self, tally: &crate::audit::Tally) {
        self.results.clear();
        for ((policy, result), n) in tally {
            self.results.get_or_create(&Verdict { policy: policy.clone(), result: result.clone() }).set(*n);
        }
    }

    /// Exports a service's drift score; its label.
    pub(crate) fn service(&self, s: &paved::golden::ServiceConformance) -> Service {
        let label = Service {
            namespace: s.namespace.clone(),
            service: s.service.clone(),
            golden_path: s.golden_path.clone(),
            behind: s.standing.as_ref().map_or("unknown", |st| st.behind.as_str()).to_owned(),
            sunset: s.standing.as_ref().is_some_and(|st| st.sunset).to_string(),
        };
        self.drift.get_or_create(&label).set(i64::from(s.score.total));
        label
    }

    pub(crate) fn forget(&self, s: &Service) {
        self.drift.remove(s);
    }

    /// How many services are current, behind, past their sunset, drifted.
    pub(crate) fn standings<'s>(&self, services: impl Iterator<Item = (&'s Service, &'s bool)>) {
        let mut counts =
            std::collections::BTreeMap::from([("current", 0), ("behind", 0), ("sunset", 0), ("drifted", 0)]);
        for (s, drifted) in services {
            let behind = if s.behind == "current" { "current" } else { "behind" };
            *counts.entry(behind).or_default() += 1;
            if s.sunset == "true" {
                *counts.entry("sunset").or_default() += 1;
            }
            if *drifted {
                *counts.entry("drifted").or_default() += 1;
            }
        }
        for (status, n) in counts {
            self.services.get_or_create(&Status { status: status.to_owned() }).set(n);
        }
    }
}

pub(crate) struct Metrics {
    registry: Registry,
    pub answers: Family<Answer, Counter>,
    pub latency: Histogram,
    /// Requests judged without a full evaluation (`deadline`, `internal`, `overloaded`), and rule errors by
    /// their kind (`trap`, `fuel`, `cost`, ...): each was answered per the failure policy.
    pub errors: Family<Cause, Counter>,
    /// Requests refused before judging: `too-large`, `content-type`, `malformed`,
    /// `not-admission-review`, `unreadable-request`; and connections refused (`connections`).
    pub rejected: Family<Cause, Counter>,
    pub bundle_reloads: Family<Outcome, Counter>,
    pub certificate_reloads: Family<Outcome, Counter>,
    pub exceptions: Family<Status, Gauge>,
    /// Changes the mutations made at `/mutate`, by policy and mutation.
    pub mutations: Family<Mutation, Counter>,
    pub policies: Gauge,
    /// The inventory kept from the cluster: objects by kind, and watches restarted.
    pub inventory: crate::inventory::Counts,
    /// Evaluations running now: a request answered at its deadline counts until its
    /// evaluation has stopped.
    pub running: Gauge,
    pub audit: Audit,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("paved");
        let answers = Family::<Answer, Counter>::default();
        registry.register(
            "admission_requests",
            "AdmissionReviews answered, by decision, operation and kind",
            answers.clone(),
        );
        // 50 µs to about 1.6 s.
        let latency = Histogram::new(exponential_buckets(0.000_05, 2.0, 16));
        registry.register(
            "admission_duration_seconds",
            "Time from a request's body read to its answer",
            latency.clone(),
        );
        let errors = Family::<Cause, Counter>::default();
        registry.register(
            "evaluation_errors",
            "Evaluations that failed, by cause (deadline, internal, or a rule error's kind); each answered per its failure policy",
            errors.clone(),
        );
        let rejected = Family::<Cause, Counter>::default();
        registry.register("rejected_requests", "Requests refused before judging, by cause", rejected.clone());
        let bundle_reloads = Family::<Outcome, Counter>::default();
        registry.register("bundle_reloads", "Bundle reloads, by result", bundle_reloads.clone());
        let certificate_reloads = Family::<Outcome, Counter>::default();
        registry.register("certificate_reloads", "Serving certificate reloads, by result", certificate_reloads.clone());
        let exceptions = Family::<Status, Gauge>::default();
        registry.register("exceptions", "Policy exceptions of the serving bundle, by status now", exceptions.clone());
        let mutations = Family::<Mutation, Counter>::default();
        registry.register(
            "mutations",
            "Changes (JSON Patch operations) made at /mutate, by policy and mutation",
            mutations.clone(),
        );
        let policies = Gauge::default();
        registry.register("policies", "Policies of the serving bundle", policies.clone());
        let inventory = crate::inventory::Counts { objects: Family::default(), restarts: Family::default() };
        registry.register(
            "inventory_objects",
            "Objects of the inventory kept from the cluster, by kind",
            inventory.objects.clone(),
        );
        registry.register(
            "inventory_watch_errors",
            "Errors of the inventory's watches (each retried with backoff), by kind",
            inventory.restarts.clone(),
        );
        let running = Gauge::default();
        registry.register(
            "evaluations_running",
            "Evaluations running now, including those whose request was answered at its deadline and that are stopping",
            running.clone(),
        );
        let audit = Audit::register(&mut registry);
        Metrics {
            audit,
            registry,
            answers,
            latency,
            errors,
            rejected,
            bundle_reloads,
            certificate_reloads,
            exceptions,
            mutations,
            policies,
            inventory,
            running,
        }
    }

    pub(crate) fn error(&self, cause: &str) {
        self.errors.get_or_create(&Cause { cause: cause.to_owned() }).inc();
    }

    /// Counts the changes a `/mutate` answer made (none when it was denied).
    pub(crate) fn mutated(&self, report: &paved::Report) {
        if report.decision == paved::Decision::Deny {
            return;
        }
        for p in report.patches.iter().filter(|p| p.waived_by.is_none()) {
            let label = Mutation { policy: p.policy.clone(), mutation: p.mutation.clone() };
            self.mutations.get_or_create(&label).inc();
        }
    }

    pub(crate) fn reject(&self, cause: &str) {
        self.rejected.get_or_create(&Cause { cause: cause.to_owned() }).inc();
    }

    pub(crate) fn reload(family: &Family<Outcome, Counter>, ok: bool) {
        family.get_or_create(&Outcome { result: if ok { "success" } else { "failure" }.to_owned() }).inc();
    }

    /// The text exposition.
    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
