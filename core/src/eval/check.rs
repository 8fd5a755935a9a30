//! The checks a rule can run. Each kind of check is one implementation of [`Check`].

use std::fmt;

use serde_json::Value;

use super::expr::Expr;

/// One way in which a checked value fails its rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation {
    /// JSON pointer relative to the checked value.
    pub path: String,
    /// What exactly failed, when the check can say more than the rule's message.
    pub detail: Option<String>,
}

/// What a check sees: the value it checks (the object or a `forEach` item) and the CEL scope in
/// which `object`, `item`, `params` and the rest are bound.
pub(crate) struct CheckInput<'a, 'p, 'v> {
    pub value: &'a Value,
    /// `None` when no rule of the policy uses CEL (the bindings are then never built).
    pub scope: Option<&'a cel::Context<'p, 'v>>,
}

/// A compiled check. Implementations are immutable and shared across threads.
pub(crate) trait Check: Send + Sync + fmt::Debug {
    /// The violations of `input`, or why the check could not be evaluated.
    fn check(&self, input: &CheckInput<'_, '_, '_>) -> Result<Vec<Violation>, String>;
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
    pub fn new(schema: &Value) -> Result<Self, String> {
        jsonschema::draft202012::options()
            .build(schema)
            .map(|validator| AssertCheck { validator })
            .map_err(|e| format!("invalid JSON Schema: {e}"))
    }
}

impl Check for AssertCheck {
    fn check(&self, input: &CheckInput<'_, '_, '_>) -> Result<Vec<Violation>, String> {
        if self.validator.is_valid(input.value) {
            return Ok(Vec::new());
        }
        let mut errors: Vec<(String, String)> =
            self.validator.iter_errors(input.value).map(|e| (e.instance_path().to_string(), e.to_string())).collect();
        errors.sort();
        // One violation per rule application: the first place it fails, with every reason.
        let path = errors.first().map(|(p, _)| p.clone()).unwrap_or_default();
        let detail = errors.iter().map(|(p, m)| if p.is_empty() { m.clone() } else { format!("{p}: {m}") });
        Ok(vec![Violation { path, detail: Some(detail.collect::<Vec<_>>().join("; ")) }])
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
    fn check(&self, input: &CheckInput<'_, '_, '_>) -> Result<Vec<Violation>, String> {
        let Some(scope) = input.scope else {
            return Err("no CEL bindings were prepared for this rule".into());
        };
        match self.expr.program.execute(scope) {
            Ok(cel::Value::Bool(true)) => Ok(Vec::new()),
            Ok(cel::Value::Bool(false)) => Ok(vec![Violation { path: self.path.clone(), detail: None }]),
            Ok(other) => Err(format!("`{}` gave {:?}, not a bool", self.expr.source, other.type_of())),
            Err(e) => Err(format!("`{}` failed: {e}", self.expr.source)),
        }
    }
}
