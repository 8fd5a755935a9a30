//! What an expression is compiled against: the variables and functions it may name, the result
//! it must give, and the problems compiling it finds.

use super::parse::Parsed;
use super::types::Ty;

/// A problem found while compiling an expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    pub message: String,
    pub help: Option<String>,
    /// Where in the expression, in characters, when known.
    pub column: Option<usize>,
}

impl Problem {
    /// The message and the help, with a caret under the place in the expression.
    pub(crate) fn render(&self, source: &str) -> (String, Option<String>) {
        let caret = self.column.filter(|_| !source.contains('\n')).map(|c| format!("| {source}\n| {}^", " ".repeat(c)));
        let help = match (&self.help, caret) {
            (Some(h), Some(c)) => Some(format!("{h}\n{c}")),
            (h, c) => h.clone().or(c),
        };
        (self.message.clone(), help)
    }
}

/// What an expression may refer to: the environment's variables with their types, and the
/// named variables (`variables.x`) declared before it.
#[derive(Clone, Copy)]
pub(crate) struct Decls<'d> {
    pub roots: &'d [(&'d str, Ty)],
    pub variables: Option<&'d [Variable]>,
    /// Functions the bundle defines.
    pub functions: &'d [Function],
    /// Whose policy the expression is in: Kubernetes' environment has only Kubernetes'
    /// libraries, Kyverno's has Kyverno's too, paved's has paved's.
    pub form: Form,
}

/// Whose document a policy was written as: its semantics follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// paved's own `Policy`.
    Paved,
    /// Kubernetes' ValidatingAdmissionPolicy: it applies only through its bindings, and its
    /// findings name it and the binding, as the API server does.
    Kubernetes,
    /// Kyverno's ValidatingPolicy: a ValidatingAdmissionPolicy with its own actions, applying
    /// without a binding.
    Kyverno,
}

impl Form {
    /// Whether it follows Kubernetes' admission-policy semantics: an expression error is
    /// worded as the API server words it, and ignored (only recorded) under
    /// `failurePolicy: Ignore`.
    pub(crate) fn is_kubernetes_like(self) -> bool {
        self != Form::Paved
    }
}

/// A named variable (`variables.x`): its type, and the largest size (length of a string or
/// list) its value can have.
#[derive(Clone, Debug)]
pub(crate) struct Variable {
    pub name: String,
    pub ty: Ty,
    pub size: u64,
}

/// A function a bundle defines: its body is compiled where it is called, with its params bound.
pub(crate) struct Function {
    pub name: String,
    pub params: Vec<String>,
    pub body: Parsed,
}

/// What the expression must give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    Bool,
    String,
    Any,
}
