//! Compiling a policy document once: its selector, JSON Schemas, CEL programs and `forEach`
//! paths, and the checks a rule runs. Pure: nothing here reads a file, the clock or the
//! environment.

pub(crate) mod check;
pub(crate) mod expr;
pub(crate) mod policy;
