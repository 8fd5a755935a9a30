//! The CEL environment of policies: the variables an expression sees, in their slots, typed
//! by the schemas of the kinds a policy matches when those are known.

pub(crate) use crate::cel::Form;
use crate::cel::{self, Decls, Parsed, Program, Ty, Variable, Want};

/// A compiled expression.
pub(crate) type Expr = Program;

/// The variables of a policy's expressions, in slot order. `item` is only visible to rules with
/// a `forEach` (and to variables, which such rules may read).
pub(crate) const POLICY_VARIABLES: [&str; 8] =
    ["object", "oldObject", "request", "params", "namespaceObject", "item", "inventory", "exceptions"];

/// The slot of `item` in [`POLICY_VARIABLES`].
pub(crate) const ITEM: usize = 5;

/// The typed variables: `object` and `oldObject` of type `object`, `item` of type `item` (or
/// hidden when `None`), `params` of type `params`.
pub(crate) fn roots(object: &Ty, item: Option<&Ty>, params: &Ty, form: Form) -> Vec<(&'static str, Ty)> {
    POLICY_VARIABLES
        .iter()
        .map(|&slot| {
            let ty = match slot {
                "object" | "oldObject" => object.clone(),
                "item" => item.cloned().unwrap_or(Ty::Dyn),
                "request" => request(),
                "inventory" => Ty::Inventory,
                "params" => params.clone(),
                _ => Ty::Dyn,
            };
            let name = match (slot, form) {
                ("item", _) if item.is_none() => "",
                // The inventory is paved's; Kyverno's `resource` library reads it.
                ("inventory", Form::Kubernetes) => "",
                ("inventory", Form::Kyverno) => "resource",
                // What Kyverno's exceptions allow (`allowedImages`, `allowedValues`).
                ("exceptions", Form::Paved | Form::Kubernetes) => "",
                _ => slot,
            };
            (name, ty)
        })
        .collect()
}

/// The shape of `request`, as paved fills it (Kubernetes' admission request, in part).
static REQUEST: std::sync::LazyLock<serde_json::Value> = std::sync::LazyLock::new(|| {
    let string = serde_json::json!({"type": "string"});
    serde_json::json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "operation": string,
            "namespace": string,
            "name": string,
            "dryRun": {"type": "boolean"},
            "kind": {
                "type": "object",
                "additionalProperties": false,
                "properties": {"group": string, "version": string, "kind": string},
            },
            "userInfo": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "username": string,
                    "uid": string,
                    "groups": {"type": "array", "items": string},
                    "extra": {"type": "object", "additionalProperties": {"type": "array", "items": string}},
                },
            },
        },
    })
});

/// The type of `request`: its fields are known, so `request.operatoin` is a load error.
fn request() -> Ty {
    match crate::k8s::schema::version("latest") {
        Ok(version) => Ty::of_schema(version, &REQUEST, "request"),
        Err(_) => Ty::Dyn,
    }
}

/// The shape of a policy's expressions: whether `item` is visible, and the named variables
/// declared before them.
pub(crate) struct Scope<'v> {
    pub for_each: bool,
    pub variables: &'v [Variable],
    /// The functions the bundle defines.
    pub functions: &'v [crate::cel::Function],
    /// The type of `params`, from the policy's params schema.
    pub params: &'v Ty,
    /// Whose policy the expression is in. In Kubernetes' and Kyverno's, as the API server
    /// compiles an admission policy's expressions: a validation or condition whose result is only
    /// known when evaluated (`dyn`) is not a bool, the estimated cost is not checked, and there is
    /// no `inventory` (Kyverno's `resource` reads it).
    pub form: Form,
}

/// Compiles `source` with every variable `dyn`: the program that runs.
pub(crate) fn compile(source: &str, scope: &Scope<'_>, want: Want) -> Result<(Parsed, Expr), (String, Option<String>)> {
    let parsed = cel::parse(source)?;
    let roots = roots(&Ty::Dyn, scope.for_each.then_some(&Ty::Dyn), scope.params, scope.form);
    let decls = Decls { roots: &roots, variables: Some(scope.variables), functions: scope.functions, form: scope.form };
    let strict = scope.form.is_kubernetes_like();
    let program = parsed.compile_bounded(&decls, want, !strict)?;
    if strict && want != Want::Any && program.ty == Ty::Dyn {
        let what = if want == Want::Bool { "bool" } else { "string" };
        let help = format!("make its type known, e.g. `{what}(...)` or a comparison");
        return Err((format!("must evaluate to {what} but got dyn"), Some(help)));
    }
    Ok((parsed, program))
}

/// Checks an expression again with `object` (and `item`) typed, as for one matched kind.
pub(crate) fn check_typed(
    parsed: &Parsed,
    scope: &Scope<'_>,
    object: &Ty,
    item: Option<&Ty>,
) -> Option<(String, Option<String>)> {
    let item = if scope.for_each { Some(item.unwrap_or(&Ty::Dyn)) } else { None };
    let roots = roots(object, item, scope.params, scope.form);
    parsed.check(&Decls {
        roots: &roots,
        variables: Some(scope.variables),
        functions: scope.functions,
        form: scope.form,
    })
}
