//! The checks a rule can run. Each kind of check is one implementation of [`Check`].

use std::fmt;

use jiff::Timestamp;
use serde_json::Value;

use super::expr::Expr;
use super::images::VerifyImagesCheck;
use crate::model::Severity;
use crate::plugin::{Plugin, Plugins};
use crate::report::{ErrorKind, FindingError};

/// One way in which a checked value fails its rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation {
    /// JSON pointer relative to the checked value.
    pub path: String,
    /// What exactly failed, when the check can say more than the rule's message.
    pub detail: Option<String>,
    /// A message of the check's own, instead of the rule's (a plugin's).
    pub message: Option<String>,
    /// A severity of the check's own, instead of the rule's (a plugin's).
    pub severity: Option<Severity>,
    /// How to fix it, when the check knows better than the rule's `help` (a did-you-mean).
    pub help: Option<String>,
}

impl Violation {
    /// A violation at `path` that says no more than the rule does.
    pub(crate) fn at(path: String, detail: Option<String>) -> Self {
        Violation { path, detail, message: None, severity: None, help: None }
    }
}

/// What a check sees: the value it checks (the object or a `forEach` item) and the CEL
/// activation in which `object`, `item`, `params` and the rest are bound.
pub(crate) struct CheckInput<'a, 'v> {
    pub value: &'a Value,
    /// `None` when the rule uses no CEL (the bindings are then never built).
    pub scope: Option<&'a crate::cel::Activation<'v>>,
    /// What a plugin is told besides the value; built only for plugin rules.
    pub call: Option<&'a PluginCall<'a>>,
    /// The policy's params, with the run's overrides over them.
    pub params: Option<&'a Value>,
    /// Custom resources' schemas known to the run.
    pub crds: &'a crate::k8s::schema::Crds,
    /// What a Rego rule is told of the object; built only for Rego rules.
    pub review: Option<&'a Review<'a>>,
    /// The verdicts on images the context brings, for `verifyImages` rules.
    pub images: &'a crate::model::ImageVerdicts,
}

/// The rest of a plugin call: the value as JSON text, the run's params overrides, the context.
#[cfg_attr(not(feature = "plugins"), allow(dead_code))]
pub(crate) struct PluginCall<'a> {
    pub resource: &'a str,
    /// The caller's params overrides for the policy, over the rule's.
    pub overrides: Option<&'a Value>,
    /// The context, as JSON text.
    pub context: String,
    pub now: Timestamp,
    /// The engine's linked plugins.
    pub plugins: &'a Plugins,
    /// The evaluation's budget: its stop flag and plugin fuel.
    pub budget: Option<&'a crate::cel::Budget>,
}

/// What a Rego check sees besides its params: Gatekeeper's review of the object (made once
/// per object, for every constraint), the inventory, and the evaluation's budget.
pub(crate) struct Review<'a> {
    pub review: &'a regorus::Value,
    pub inventory: Option<&'a regorus::Value>,
    pub budget: Option<&'a crate::cel::Budget>,
}

/// A compiled check. Implementations are immutable and shared across threads.
pub(crate) trait Check: Send + Sync + fmt::Debug {
    /// The violations of `input`, or why the check could not be evaluated.
    fn check<'v>(&'v self, input: &CheckInput<'_, 'v>) -> Result<Vec<Violation>, FindingError>;

    /// Whether the check reads the value as JSON (a CEL check reads the activation instead).
    fn reads_value(&self) -> bool {
        true
    }

    /// The plugin check this is, if it is one (it then needs a [`PluginCall`]).
    fn plugin(&self) -> Option<&PluginCheck> {
        None
    }

    /// The image verification this is, if it is one (it then needs verdicts).
    fn images(&self) -> Option<&VerifyImagesCheck> {
        None
    }

    /// Whether the check is Rego (it then needs a [`Review`]).
    fn is_rego(&self) -> bool {
        false
    }

    /// The `cost` rule this is, if it is one: the engine prices the resource instead.
    fn cost(&self) -> Option<&super::cost::CostCheck> {
        None
    }
}

/// `assert`: a JSON Schema the value must satisfy.
pub(crate) struct AssertCheck {
    validator: jsonschema::Validator,
}

impl fmt::Debug for AssertCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AssertCheck")
    }
}

impl AssertCheck {
    pub(crate) fn new(schema: &Value) -> Result<Self, String> {
        jsonschema::draft202012::options()
            .build(schema)
            .map(|validator| AssertCheck { validator })
            .map_err(|e| format!("invalid JSON Schema: {e}"))
    }
}

impl Check for AssertCheck {
    fn check<'v>(&'v self, input: &CheckInput<'_, 'v>) -> Result<Vec<Violation>, FindingError> {
        if self.validator.is_valid(input.value) {
            return Ok(Vec::new());
        }
        let mut errors: Vec<(String, String)> =
            self.validator.iter_errors(input.value).map(|e| (e.instance_path().to_string(), e.to_string())).collect();
        // Failing only where a value is known after apply: neither passed nor failed.
        if errors.iter().all(|(p, _)| crate::load::pointer::reaches_unknown(input.value, p)) {
            return Err(FindingError::new(ErrorKind::Unknown, "the schema reads a value known only after apply"));
        }
        errors.sort();
        // One violation per rule application: the first place it fails, with every reason.
        let path = errors.first().map(|(p, _)| p.clone()).unwrap_or_default();
        let detail = errors.iter().map(|(p, m)| if p.is_empty() { m.clone() } else { format!("{p}: {m}") });
        Ok(vec![Violation::at(path, Some(detail.collect::<Vec<_>>().join("; ")))])
    }
}

/// `cel`: an expression that must be true.
#[derive(Debug)]
pub(crate) struct CelCheck {
    pub expr: Expr,
    /// Where the finding points, relative to the checked value.
    pub path: String,
}

impl Check for CelCheck {
    fn reads_value(&self) -> bool {
        false
    }

    fn check<'v>(&'v self, input: &CheckInput<'_, 'v>) -> Result<Vec<Violation>, FindingError> {
        let Some(scope) = input.scope else {
            return Err(FindingError::new(ErrorKind::Cel, "no CEL bindings were prepared for this rule"));
        };
        match self.expr.eval(scope) {
            Ok(crate::cel::Value::Bool(true)) => Ok(Vec::new()),
            Ok(crate::cel::Value::Bool(false)) => Ok(vec![Violation::at(self.path.clone(), None)]),
            Ok(other) => Err(FindingError::new(
                ErrorKind::Cel,
                format!("`{}` gave a {}, not a bool", self.expr.source, other.type_name()),
            )),
            Err(e) => Err(cel_error(&format!("`{}`", self.expr.source), &e)),
        }
    }
}

/// The finding error for an expression that failed: out of budget, or any other failure.
pub(crate) fn cel_error(what: &str, e: &crate::cel::Error) -> FindingError {
    FindingError::new(error_kind(e), format!("{what} failed: {e}"))
}

/// The kind of finding error a CEL error is: stopped by the caller, over a budget, unknown
/// until apply, or failed.
pub(crate) fn error_kind(e: &crate::cel::Error) -> ErrorKind {
    match (e.stopped, e.over_budget, e.unknown) {
        (true, _, _) => ErrorKind::Deadline,
        (false, true, _) => ErrorKind::Cost,
        (false, false, true) => ErrorKind::Unknown,
        (false, false, false) => ErrorKind::Cel,
    }
}

/// `plugin`: a WASM plugin the bundle declares, with the params the policy gives it. The plugin
/// itself is linked when an engine is built; a call finds it in the engine's plugins by name.
#[derive(Debug)]
pub(crate) struct PluginCheck {
    pub name: String,
    /// The policy's params with the rule's over them.
    pub params: Value,
    /// The same, as the JSON text the plugin gets when the run overrides nothing.
    params_text: String,
    /// Whether the rule has params of its own (a params error then points at them).
    #[cfg_attr(not(feature = "plugins"), allow(dead_code))]
    pub in_rule: bool,
}

type CompileError = (String, String, Option<String>);

impl PluginCheck {
    /// The check for `plugin: name`, which the bundle must declare.
    pub(crate) fn new(
        name: &str,
        declared: &[&str],
        policy_params: Option<&Value>,
        rule_params: Option<&Value>,
    ) -> Result<Self, CompileError> {
        if !declared.contains(&name) {
            let help = match crate::error::did_you_mean(name, declared.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None if declared.is_empty() => {
                    "list it under `spec.plugins` of the bundle's `kind: Bundle` document, with its path and sha256"
                        .into()
                }
                None => format!("the bundle's plugins are: {}", declared.join(", ")),
            };
            return Err(("/plugin".into(), format!("the bundle has no plugin `{name}`"), Some(help)));
        }
        let mut params = policy_params.cloned().unwrap_or_else(|| Value::Object(Default::default()));
        if let (Value::Object(base), Some(over)) = (&mut params, rule_params) {
            match over {
                Value::Object(over) => base.extend(over.clone()),
                _ => return Err(("/params".into(), "params must be a mapping".into(), None)),
            }
        }
        let params_text = params.to_string();
        Ok(PluginCheck { name: name.to_owned(), params, params_text, in_rule: rule_params.is_some() })
    }
}

impl Check for PluginCheck {
    fn check<'v>(&'v self, input: &CheckInput<'_, 'v>) -> Result<Vec<Violation>, FindingError> {
        let Some(call) = input.call else {
            return Err(FindingError::new(ErrorKind::Unavailable, "no plugin call was prepared for this rule"));
        };
        let Some(plugin) = call.plugins.get(&self.name) else {
            let mut e = FindingError::new(ErrorKind::Unavailable, format!("plugin `{}` is not linked", self.name));
            e.plugin = Some(self.name.clone());
            return Err(e);
        };
        let params = match (call.overrides, &self.params) {
            (Some(Value::Object(over)), Value::Object(base)) => {
                let mut merged = base.clone();
                merged.extend(over.clone());
                std::borrow::Cow::Owned(Value::Object(merged).to_string())
            }
            _ => std::borrow::Cow::Borrowed(self.params_text.as_str()),
        };
        run(plugin, call, &params)
    }

    fn plugin(&self) -> Option<&PluginCheck> {
        Some(self)
    }
}

#[cfg(feature = "plugins")]
fn run(plugin: &Plugin, call: &PluginCall<'_>, params: &str) -> Result<Vec<Violation>, FindingError> {
    let findings = plugin.check(call.resource, params, &call.context, call.now, call.budget).map_err(|e| {
        use crate::plugin::Cause;
        let kind = match e.cause {
            Cause::OutOfFuel { .. } | Cause::BudgetSpent { .. } => ErrorKind::Fuel,
            Cause::Stopped => ErrorKind::Deadline,
            Cause::MemoryLimit { .. } => ErrorKind::Memory,
            Cause::Deadline { .. } => ErrorKind::Deadline,
            Cause::OutputTooLarge { .. } | Cause::Contract(_) => ErrorKind::InvalidOutput,
            Cause::Failed { .. } => ErrorKind::PluginFailed,
            Cause::Unavailable(_) => ErrorKind::Unavailable,
            _ => ErrorKind::Trap,
        };
        FindingError { kind, plugin: Some(e.plugin.clone()), message: e.to_string() }
    })?;
    Ok(findings
        .into_iter()
        .map(|f| Violation {
            path: f.path,
            detail: Some(format!("plugin {} reports {}", plugin.name(), f.rule)),
            message: Some(f.message),
            severity: f.severity,
            help: None,
        })
        .collect())
}

#[cfg(not(feature = "plugins"))]
fn run(plugin: &Plugin, _: &PluginCall<'_>, _: &str) -> Result<Vec<Violation>, FindingError> {
    match *plugin {}
}

/// `kubernetes`: the value (a whole manifest) against Kubernetes' schemas of the version in
/// `params.kubernetesVersion` (default `latest`).
#[derive(Debug)]
pub(crate) struct KubernetesSchemaCheck {
    pub what: crate::model::KubernetesCheck,
}

impl Check for KubernetesSchemaCheck {
    fn check<'v>(&'v self, input: &CheckInput<'_, 'v>) -> Result<Vec<Violation>, FindingError> {
        use crate::k8s::schema::{self, Known};
        use crate::model::KubernetesCheck;
        let wanted = input.params.and_then(|p| p.get("kubernetesVersion")).and_then(Value::as_str).unwrap_or("latest");
        let version = schema::version(wanted).map_err(|e| FindingError::new(ErrorKind::Schema, e))?;
        let text = |key: &str| input.value.get(key).and_then(Value::as_str).unwrap_or_default();
        let (api_version, kind) = (text("apiVersion"), text("kind"));
        let violation = |path: &str, message: String, help: Option<String>| Violation {
            path: path.to_owned(),
            detail: None,
            message: Some(message),
            severity: None,
            help,
        };
        Ok(match (self.what, version.known(api_version, kind)) {
            (KubernetesCheck::Kind, Known::Unknown { message, help }) => vec![violation("/kind", message, help)],
            (KubernetesCheck::Fields, known @ (Known::Kind | Known::Custom)) => {
                let problems = match known {
                    Known::Kind => version.validate(api_version, kind, input.value),
                    _ => input.crds.validate(version, api_version, kind, input.value),
                };
                problems.into_iter().map(|p| violation(&p.pointer, p.message, p.help)).collect()
            }
            (KubernetesCheck::Deprecated, Known::Kind) => version
                .deprecated(api_version, kind)
                .map(|(message, help)| violation("/apiVersion", message, Some(help)))
                .into_iter()
                .collect(),
            (KubernetesCheck::CustomResource, Known::Custom) if !input.crds.has(api_version, kind) => vec![violation(
                "/kind",
                format!("no schema for the custom resource `{api_version}` `{kind}`, so its fields are not checked"),
                Some("add its CustomResourceDefinition to the input or the bundle".into()),
            )],
            _ => Vec::new(),
        })
    }
}

/// A `cost` rule finds nothing on its own: the engine prices each resource and judges the
/// budgets over the run.
impl Check for super::cost::CostCheck {
    fn check<'v>(&'v self, _: &CheckInput<'_, 'v>) -> Result<Vec<Violation>, FindingError> {
        Ok(Vec::new())
    }

    fn cost(&self) -> Option<&super::cost::CostCheck> {
        Some(self)
    }
}

impl Check for VerifyImagesCheck {
    fn check<'v>(&'v self, input: &CheckInput<'_, 'v>) -> Result<Vec<Violation>, FindingError> {
        let failed = self.judge(input.value, input.images).map_err(|m| FindingError::new(ErrorKind::Registry, m))?;
        Ok(failed.into_iter().map(|(path, detail)| Violation::at(path, Some(detail))).collect())
    }

    fn images(&self) -> Option<&VerifyImagesCheck> {
        Some(self)
    }
}
