//! What a policy's expressions read: the inventory (whether at all, and which kinds its calls
//! name) and the request, found in their text and syntax trees as the policy compiles.

use crate::cel::{Call, Form, Parsed};
use crate::model::PolicyDocument;

/// What a policy reads through the inventory.
#[derive(Debug, Clone, Default)]
pub(crate) struct Reads {
    /// Whether an expression may read it (it names it, or a bundle function does).
    pub any: bool,
    /// Its calls: the kinds they name, as `(apiVersion, kind)` (a Kyverno policy's `resource`
    /// calls: `(apiVersion, resource)`; `None` for a call whose kind is only known as it runs),
    /// and whether they read more than the objects' metadata.
    pub kinds: Vec<Call>,
}

/// What a policy's expressions (and the bundle's functions, when it may call them) read
/// through the inventory: `inventory.list/get/selecting/containing`, or Kyverno's
/// `resource.Get/List`.
pub(super) fn reads<'p>(
    doc: &PolicyDocument,
    parsed: impl Iterator<Item = &'p Parsed>,
    functions: &'p [crate::cel::Function],
    form: Form,
) -> Reads {
    let (root, calls): (&str, &[&str]) = match form {
        Form::Kyverno => ("resource", &["Get", "get", "List", "list"]),
        _ => ("inventory", &["list", "get", "selecting", "containing"]),
    };
    let any = mentions(doc, functions, &[root]);
    let bodies = functions.iter().filter(|_| any).map(|f| &f.body);
    let mut kinds: Vec<Call> = parsed.chain(bodies).flat_map(|p| p.calls_on(root, calls)).collect();
    if form == Form::Kyverno {
        kinds.iter_mut().for_each(|c| c.whole = true);
    }
    kinds.sort();
    kinds.dedup();
    Reads { any, kinds }
}

/// Whether any expression of the policy, or a function it may call, names one of `words` (as
/// text: a name in a string literal counts too, which only costs the evaluation some work).
pub(super) fn mentions(doc: &PolicyDocument, functions: &[crate::cel::Function], words: &[&str]) -> bool {
    let names = |e: Option<&str>| e.is_some_and(|e| words.iter().any(|w| e.contains(w)));
    functions.iter().any(|f| names(Some(f.body.source())))
        || doc.spec.variables.iter().chain(&doc.spec.match_conditions).any(|v| names(Some(&v.expression)))
        || doc.spec.audit_annotations.iter().any(|a| names(Some(&a.value_expression)))
        || doc
            .spec
            .rules
            .iter()
            .any(|r| names(r.cel.as_deref()) || names(r.when.as_deref()) || names(r.message_expression.as_deref()))
}
