//! The engine: a bundle compiled once and indexed by kind ([`Engine`]), built by
//! [`EngineBuilder`] (`build.rs`), and run against resources deterministically (`run.rs`) in a
//! [`Context`] (`context.rs`); admission reviews in and out (`admit.rs`).

pub(crate) mod admit;
mod budget;
mod build;
mod context;
mod evaluation;
pub(crate) mod inventory;
mod mutate;
pub(crate) mod resource;
mod run;

pub use build::EngineBuilder;
pub use context::Context;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::compile::bundle::Bundle;
use crate::compile::exception::Exception;
use crate::compile::policy::Policy;
use crate::k8s;
use crate::model::BundleSpec;
use crate::plugin::{PluginInfo, Plugins};
use crate::report::PolicyInfo;

/// How a policy meets a resource: directly, or through the pod template of a controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Via {
    Direct,
    Template,
}

/// The compiled bundle, indexed. Immutable, `Send + Sync`; share it with an `Arc`.
///
/// ```
/// use paved::{Bundle, Context, Engine, Resource};
/// let bundle = Bundle::from_str("p.yaml", r#"
/// apiVersion: paved.dev/v1
/// kind: Policy
/// metadata: { name: no-latest, version: 1.0.0 }
/// spec:
///   severity: high
///   match: { kinds: [Pod] }
///   rules:
///     - id: pinned
///       forEach: containers
///       message: images must be pinned
///       cel: "!item.image.endsWith(':latest')"
/// "#)?;
/// let engine = Engine::builder().bundle(bundle).build()?;
/// let pods = Resource::from_str("pod.yaml", r#"
/// apiVersion: v1
/// kind: Pod
/// metadata: { name: web }
/// spec: { containers: [ { name: app, image: "nginx:latest" } ] }
/// "#)?;
/// let report = engine.evaluate(&pods, &Context::at("2026-01-01T00:00:00Z".parse().unwrap()));
/// assert_eq!(report.decision, paved::Decision::Deny);
/// assert_eq!(report.findings[0].path, "/spec/containers/0");
/// # Ok::<(), paved::Error>(())
/// ```
#[derive(Debug)]
pub struct Engine {
    policies: Vec<Arc<Policy>>,
    exceptions: Vec<Arc<Exception>>,
    settings: BundleSpec,
    /// The plugins the bundle declares, compiled and linked.
    plugins: Plugins,
    /// What the build had to say without failing (a refused cache, an entry compiled again).
    notes: Vec<String>,
    /// kind -> policies that may match it, in policy order.
    by_kind: HashMap<String, Vec<(usize, Via)>>,
    /// Policies whose kinds are globs (or empty): checked against every resource.
    by_pattern: Vec<usize>,
    /// Custom resources' schemas, from the bundle's CustomResourceDefinitions.
    crds: k8s::schema::Crds,
    /// Whether a policy reads `inventory`: only then is it indexed for an evaluation.
    uses_inventory: bool,
    /// Whether a policy mutates: only then does an evaluation run the mutation stage.
    mutates: bool,
    /// Whether a rule verifies images: only then are a request's images listed for it.
    verifies_images: bool,
    /// What each policy is and checks, as reports carry it for their writers.
    infos: Arc<[PolicyInfo]>,
    /// Param overrides given to the builder, by policy, under a context's own.
    params: BTreeMap<String, serde_json::Value>,
    /// The kinds Gatekeeper's sync configuration puts in Rego's `data.inventory` (none: all).
    synced: Vec<crate::model::Gvk>,
}

const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<Engine>();
};

impl Engine {
    fn new(bundle: Bundle, plugins: Plugins, notes: Vec<String>) -> Engine {
        let mut by_kind: HashMap<String, Vec<(usize, Via)>> = HashMap::new();
        let mut by_pattern = Vec::new();
        for (i, p) in bundle.policies.iter().enumerate() {
            // An instance of a policy that takes every kind (a Gatekeeper template's) is indexed
            // by its binding's kinds.
            let kinds = match &p.narrow {
                Some(n) if p.selector.kinds.is_empty() => &n.kinds,
                _ => &p.selector.kinds,
            };
            let literal: Option<Vec<&str>> = kinds.iter().map(|k| k.kind.literal()).collect();
            match literal {
                Some(kinds) if !kinds.is_empty() => {
                    for k in kinds {
                        by_kind.entry(k.to_owned()).or_default().push((i, Via::Direct));
                    }
                    if p.pod_controllers && p.matches_kind("", "v1", "Pod") {
                        for c in k8s::CONTROLLERS.iter().filter(|c| p.expands(c.group, c.kind)) {
                            by_kind.entry(c.kind.to_owned()).or_default().push((i, Via::Template));
                        }
                    }
                }
                _ => by_pattern.push(i),
            }
        }
        for v in by_kind.values_mut() {
            v.sort_unstable();
            v.dedup();
        }
        let mut crds = k8s::schema::Crds::default();
        bundle.crds.iter().for_each(|c| crds.add(c));
        Engine {
            uses_inventory: bundle.policies.iter().any(|p| p.inventory.any),
            mutates: bundle.policies.iter().any(|p| !p.mutations.is_empty()),
            verifies_images: bundle.policies.iter().flat_map(|p| p.rules.iter()).any(|r| r.check.images().is_some()),
            infos: crate::compile::bundle::infos(&bundle.policies).into(),
            params: BTreeMap::new(),
            synced: bundle.gatekeeper.sync.clone(),
            crds,
            plugins,
            notes,
            policies: bundle.policies,
            exceptions: bundle.exceptions,
            settings: bundle.settings.unwrap_or_default(),
            by_kind,
            by_pattern,
        }
    }

    /// What the build had to say without failing: a plugin cache it refused, a cache entry it
    /// could not trust and compiled again. Also logged at `warn` through `tracing`.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The plugins the engine linked, sorted by name.
    pub fn plugins(&self) -> Vec<PluginInfo> {
        self.plugins.values().map(|p| p.info()).collect()
    }

    /// The first instant after `now` at which a verdict can change with no change to what is
    /// judged: an exception starting or expiring. An audit judges again then.
    pub fn next_change(&self, now: jiff::Timestamp) -> Option<jiff::Timestamp> {
        self.exceptions.iter().filter_map(|e| e.next_change(now)).min()
    }

    /// The images of `resources` (their pods' and pod templates' containers) that
    /// `verifyImages` rules ask to be verified, each with the rule's keys, without duplicates.
    /// Verify them (the registry is outside the engine) and give the verdicts in
    /// [`Context::images`]; an image without a verdict is not verified.
    pub fn image_requests(&self, resources: &[crate::Resource]) -> Vec<crate::ImageRequest> {
        if !self.verifies_images {
            return Vec::new();
        }
        let mut requests = std::collections::BTreeSet::new();
        for r in resources {
            let id = r.identity();
            let Some(spec) = k8s::pod_spec(&id.api_version, &id.kind) else { continue };
            // Only the policies the kind index offers this resource (their other conditions are
            // judged when it is evaluated).
            let offered = self
                .by_kind
                .get(&id.kind)
                .into_iter()
                .flatten()
                .map(|(i, _)| *i)
                .chain(self.by_pattern.iter().copied());
            let checks: Vec<&crate::compile::images::VerifyImagesCheck> = offered
                .filter_map(|i| self.policies.get(i))
                .flat_map(|p| p.rules.iter())
                .filter_map(|rule| rule.check.images())
                .collect();
            for (_, image) in crate::compile::images::images_of(r.value(), &spec) {
                requests.extend(checks.iter().filter(|c| c.applies(image)).map(|c| c.request(image)));
            }
        }
        requests.into_iter().collect()
    }

    /// Names of the policies, sorted.
    pub fn policy_names(&self) -> impl Iterator<Item = &str> {
        self.policies.iter().map(|p| p.name.as_str())
    }

    /// What each policy is and checks, sorted by name.
    pub fn policies(&self) -> Vec<PolicyInfo> {
        self.infos.to_vec()
    }
}
