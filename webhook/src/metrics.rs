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
        Metrics {
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
