//! paved's CEL: Kubernetes' CEL environment, compiled once and evaluated over borrowed
//! resources.
//!
//! Expressions are parsed by the `cel` crate's parser (which also expands the macros) and then
//! compiled here: identifiers become slots, functions their implementations, literal regular
//! expressions are compiled, every node is type-checked (against Kubernetes' schemas when the
//! kind is known) and the worst-case cost is estimated, all when a bundle loads. Evaluation
//! reads the resource where it is, counts its cost, and stops at the budget.

pub(crate) mod budget;
mod decls;
mod environment;
pub(crate) mod ext;
mod functions;
mod image;
pub(crate) mod index;
mod interp;
mod ir;
pub(crate) mod lookup;
mod lower;
mod macros;
mod parse;
pub(crate) mod types;
pub(crate) mod value;

pub use budget::Budget;
pub(crate) use decls::{Decls, Form, Function, Problem, Variable, Want};
pub(crate) use interp::{Activation, Program};
pub(crate) use parse::{parse, Call, Parsed};
pub(crate) use types::Ty;
pub(crate) use value::{Error, Value};

/// The most an expression's worst case may cost for it to load (Kubernetes'
/// `StaticEstimatedCostLimit`).
pub(crate) const STATIC_LIMIT: u64 = 10_000_000;

impl Parsed {
    /// Compiles under `decls`, checking the result is what `want` says and its estimated cost
    /// is within the static limit.
    pub(crate) fn compile(&self, decls: &Decls<'_>, want: Want) -> Result<Program, (String, Option<String>)> {
        self.compile_bounded(decls, want, true)
    }

    /// As [`Parsed::compile`]; `bounded: false` leaves the estimated cost unchecked (the
    /// evaluation's budget still bounds what it spends), as the API server creates an
    /// admission policy whatever its expressions' estimates.
    pub(crate) fn compile_bounded(
        &self,
        decls: &Decls<'_>,
        want: Want,
        bounded: bool,
    ) -> Result<Program, (String, Option<String>)> {
        let mut c = lower::Compiler::new(decls, &self.info);
        let out = c.compile(&self.expr);
        let fail = |p: &Problem| p.render(&self.source);
        if let Some(p) = c.problems.first() {
            return Err(fail(p));
        }
        let Some((ir, typed)) = out else {
            return Err(("the expression could not be compiled".into(), None));
        };
        let wrong = match want {
            Want::Bool => !matches!(typed.ty, Ty::Bool | Ty::Dyn),
            Want::String => !matches!(typed.ty, Ty::String | Ty::Dyn),
            Want::Any => false,
        };
        if wrong {
            let what = if want == Want::Bool { "a bool" } else { "a string" };
            return Err((format!("the expression gives a {}, not {what}", typed.ty), None));
        }
        if bounded && typed.cost > STATIC_LIMIT {
            return Err((
                format!(
                    "the expression's estimated worst-case cost is {}, over the limit of {STATIC_LIMIT}",
                    typed.cost
                ),
                Some(format!(
                    "the estimate assumes {} items in a list or map that no schema bounds; iterating one such \
                     list inside another multiplies them: iterate fewer nested levels",
                    ir::ASSUMED_ITEMS
                )),
            ));
        }
        Ok(Program { source: self.source.clone(), ir, ty: typed.ty, size: typed.size, locals: c.max_locals })
    }

    /// Checks the expression under `decls` (say, with `object` typed by one kind's schema),
    /// without keeping the program.
    pub(crate) fn check(&self, decls: &Decls<'_>) -> Option<(String, Option<String>)> {
        let mut c = lower::Compiler::new(decls, &self.info);
        let _ = c.compile(&self.expr);
        c.problems.first().map(|p| p.render(&self.source))
    }
}

/// Parses and compiles in one step.
#[cfg(test)]
pub(crate) fn compile(source: &str, decls: &Decls<'_>, want: Want) -> Result<Program, (String, Option<String>)> {
    parse(source)?.compile(decls, want)
}

#[cfg(test)]
mod tests;
