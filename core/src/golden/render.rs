//! Rendering a golden path: inputs checked and defaulted, manifests built and stamped with
//! their provenance, and judged by the policies the golden path names.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use semver::Version;
use serde_json::Value;

use crate::compile::bundle::Bundle;
use crate::compile::golden_path::{Built, GoldenPath};
use crate::engine::{Context, Engine};
use crate::error::{Diagnostic, Diagnostics, Error};
use crate::load::{self, Sourced};
use crate::report::{Decision, Report};

use super::inputs::{self, InputSet};

/// Why a render made nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The golden path could not be rendered as asked: inputs it does not accept, policies
    /// that do not load.
    #[error(transparent)]
    Invalid(#[from] Error),
    /// The golden path rendered manifests that its own policies deny.
    #[error("golden path {golden_path} rendered manifests its policies deny ({} denied)", report.summary.denied)]
    NonCompliant {
        /// `name@version`.
        golden_path: String,
        /// The evaluation, with the findings.
        report: Box<Report>,
    },
}

/// What a render made.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Rendered {
    /// `name@version` of the golden path used.
    pub golden_path: String,
    /// The inputs with the schema's defaults filled in.
    pub inputs: Value,
    /// The manifests, with provenance annotations.
    pub manifests: Vec<Value>,
    /// The evaluation of the manifests against the golden path's policies (nothing denied).
    pub report: Report,
}

impl GoldenPath {
    /// Renders `inputs`: validates them (every problem at once), fills defaults, builds the
    /// manifests, stamps provenance, and evaluates them against the golden path's policies.
    /// `policies` holds the policies the golden path may name besides the built-in packs.
    pub fn render(&self, inputs: &Value, policies: &Bundle) -> Result<Rendered, RenderError> {
        self.render_sourced(inputs, None, policies, None)
    }

    /// As [`GoldenPath::render`], with the inputs as the text of a YAML or JSON file, so that
    /// each problem is reported at its line and column.
    pub fn render_text(&self, file: &str, text: &str, policies: &Bundle) -> Result<Rendered, RenderError> {
        self.render_file(file, text, &[], policies, None)
    }

    /// As [`GoldenPath::render_text`], with inputs set as text over (or as defaults under) the
    /// file's, in order: `paved generate --input` and Argo CD's parameters. Each value is read as
    /// the inputs schema types it; the file's other values keep their lines.
    pub fn render_text_set(
        &self,
        file: &str,
        text: &str,
        sets: &[InputSet],
        policies: &Bundle,
    ) -> Result<Rendered, RenderError> {
        self.render_file(file, text, sets, policies, None)
    }

    /// As [`GoldenPath::render_text`], judged with `inventory` besides the rendered objects: the
    /// rest of the namespace, for the policies that look it up.
    pub fn render_text_in(
        &self,
        file: &str,
        text: &str,
        policies: &Bundle,
        inventory: &crate::Inventory,
    ) -> Result<Rendered, RenderError> {
        self.render_file(file, text, &[], policies, Some(inventory))
    }

    fn render_file(
        &self,
        file: &str,
        text: &str,
        sets: &[InputSet],
        policies: &Bundle,
        inventory: Option<&crate::Inventory>,
    ) -> Result<Rendered, RenderError> {
        let mut docs = load::parse_text(file, text).map_err(|d| Error::Invalid(Diagnostics(vec![d])))?;
        let [doc] = docs.as_mut_slice() else {
            return Err(RenderError::Invalid(Error::Invalid(Diagnostics(vec![Diagnostic {
                file: file.into(),
                line: 1,
                column: 1,
                pointer: None,
                message: format!("expected one document of inputs, found {}", docs.len()),
                help: Some("an inputs file is one YAML mapping".into()),
            }]))));
        };
        if doc.value.is_null() {
            // An empty file: the inputs are all set or defaulted.
            doc.value = Value::Object(serde_json::Map::new());
        }
        let applied =
            inputs::apply(&mut doc.value, self.inputs_schema(), sets).map_err(|reason| Error::Input { reason })?;
        self.render_sourced(&doc.value, Some(doc), policies, inventory).map_err(|e| match e {
            RenderError::Invalid(Error::Invalid(diags)) => {
                RenderError::Invalid(Error::Invalid(inputs::placed(diags, &applied)))
            }
            other => other,
        })
    }

    fn render_sourced(
        &self,
        inputs: &Value,
        origin: Option<&Sourced>,
        policies: &Bundle,
        inventory: Option<&crate::Inventory>,
    ) -> Result<Rendered, RenderError> {
        let span = tracing::info_span!("golden.render", golden_path = %self.id());
        let _enter = span.enter();
        let Built { inputs, manifests } = self.build(inputs, origin)?;
        let resources: Vec<crate::Resource> = manifests.iter().cloned().map(crate::Resource::new).collect();
        let mut ctx = Context::at(jiff::Timestamp::UNIX_EPOCH);
        ctx.inventory = inventory.cloned().map(Arc::new);
        // The platform's mutations are made, so the manifests are what the cluster will store.
        let (mutated, report) = self.engine(policies, false)?.mutate(&resources, &ctx);
        if report.decision == Decision::Deny {
            return Err(RenderError::NonCompliant { golden_path: self.id(), report: Box::new(report) });
        }
        let manifests = mutated.into_iter().map(|r| r.value).collect();
        Ok(Rendered { golden_path: self.id(), inputs, manifests, report })
    }

    /// The engine that judges this golden path's manifests: Kubernetes' schemas, its packs and
    /// policies, the platform's defaults (the policies of `available` that only mutate), and with
    /// `exceptions`, the exceptions and settings of `available` (live objects may be waived;
    /// renders never are).
    pub(super) fn engine(&self, available: &Bundle, exceptions: bool) -> Result<Arc<Engine>, Error> {
        /// Engines of built-in packs only, by the policies a golden path names: the same for every
        /// caller, so compiled once per process (it is most of a render).
        static JUDGES: LazyLock<Mutex<HashMap<String, Arc<Engine>>>> = LazyLock::new(Default::default);
        let waivable = exceptions && (!available.exceptions.is_empty() || available.settings.is_some());
        let defaults = available.mutations_only();
        let cacheable = !waivable
            && defaults.policies.is_empty()
            && self.policies.iter().all(|(name, _)| crate::load::packs::Pack::named(name).is_ok());
        let key = format!("{:?}", self.policies);
        if cacheable {
            if let Some(engine) = JUDGES.lock().ok().and_then(|j| j.get(&key).cloned()) {
                return Ok(engine);
            }
        }
        // Every render is what the cluster accepts, whatever else the golden path names.
        let mut bundle = Bundle::pack("kubernetes-schema")?;
        for (name, range) in &self.policies {
            let named = match Bundle::pack(name) {
                Ok(pack) => pack,
                Err(_) => available.only(name).ok_or_else(|| {
                    self.invalid(
                        "/spec/policies",
                        format!("{} names `{name}`, which is neither a built-in pack nor a loaded policy", self.id()),
                    )
                })?,
            };
            for p in named.policies() {
                let v = Version::parse(&p.version).unwrap_or_else(|_| Version::new(0, 0, 0));
                if !range.matches(&v) {
                    return Err(self.invalid(
                        "/spec/policies",
                        format!("{} needs `{name}` {range}, but policy {} is {v}", self.id(), p.name),
                    ));
                }
            }
            bundle = bundle.merge(named);
        }
        // The platform's defaults, unless the golden path names them already.
        if !defaults.policies.is_empty() {
            bundle = defaults.merge(bundle);
        }
        if waivable {
            bundle.exceptions.clone_from(&available.exceptions);
            bundle.settings.clone_from(&available.settings);
        }
        let engine = Arc::new(Engine::builder().bundle(bundle).build()?);
        if cacheable {
            if let Ok(mut judges) = JUDGES.lock() {
                judges.insert(key, Arc::clone(&engine));
            }
        }
        Ok(engine)
    }
}
