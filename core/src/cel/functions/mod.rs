//! The functions of paved's CEL environment: CEL's standard library, cel-go's strings, lists,
//! math, sets, optional and encoder extensions, and Kubernetes' libraries (regex, lists,
//! quantity, URL, IP, CIDR, semver), with Kubernetes' semantics.
//!
//! Each function is one entry: its name, whether it is called on a receiver, the signatures the
//! checker resolves calls against, and one implementation that dispatches on the values.

mod args;
mod arith;
mod convert;
mod kyverno;
mod lists;
mod strings;
mod table;

pub(crate) use args::{borrowed, no_overload};
pub(crate) use kyverno::refused;
pub(crate) use strings::regex;
pub(crate) use table::Func;
use table::FUNCS;

use super::decls::Form;

/// The function `name`, called on a receiver or not, in the libraries of a policy's form:
/// Kyverno's first for Kyverno's policies; of Kyverno's, paved's own policies have its JSON
/// functions (`json.unmarshal`, `json.marshal`: cloud policies are JSON text in a Terraform
/// plan); Kubernetes' policies have Kubernetes' alone.
pub(crate) fn find(name: &str, member: bool, form: Form) -> Option<&'static Func> {
    table(form).find(|f| f.name == name && f.member == member)
}

/// Every function name, for did-you-mean.
pub(crate) fn names(member: bool, form: Form) -> impl Iterator<Item = &'static str> {
    table(form).filter(move |f| f.member == member && !f.name.starts_with(['_', '@', '!', '-'])).map(|f| f.name)
}

fn table(form: Form) -> impl Iterator<Item = &'static Func> {
    let kyverno = kyverno::KYVERNO.iter().filter(move |f| match form {
        Form::Kyverno => true,
        Form::Paved => f.name.starts_with("json."),
        Form::Kubernetes => false,
    });
    kyverno.chain(FUNCS)
}

/// The functions whose pattern argument (the last) is a regular expression.
pub(crate) fn takes_regex(name: &str) -> bool {
    matches!(name, "matches" | "find" | "findAll")
}
