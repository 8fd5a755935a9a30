//! What Kubernetes' and Kyverno's CEL environments refuse that paved's own accepts: functions
//! they do not have, aggregate literals of mixed types, branches of different types, and (in
//! Kubernetes) conversions of constants and `format` calls that fail when the program is built.

use ::cel::IdedExpr;

use super::decls::Form;
use super::functions::{self, Func};
use super::ir::{Ir, Typed};
use super::lower::{unify, Compiler, Out};
use super::types::Ty;

impl Compiler<'_> {
    /// Why the policy's environment has no such call, if it has none.
    pub(super) fn environment_refuses(
        &self,
        f: &Func,
        target: Option<&IdedExpr>,
        irs: &[Ir],
        types: &[Typed],
    ) -> Option<String> {
        let form = self.decls.form;
        outside(form, f, types.first().map(|t| &t.ty))
            .or_else(|| (form == Form::Kubernetes).then(|| kubernetes_refuses(f, target, irs, types)).flatten())
    }

    /// A problem for a call of a function the policy's environment does not have, saying why:
    /// one of Kyverno's that paved does not run, or `cel.bind` in Kubernetes'.
    pub(super) fn refused(&mut self, e: &IdedExpr, name: &str) -> Option<Out> {
        let why = match self.decls.form {
            Form::Kyverno => functions::refused(name)?,
            Form::Kubernetes if name == "cel.bind" => {
                "Kubernetes' CEL has no bindings library: declare a variable instead"
            }
            _ => return None,
        };
        Some(self.problem(e, format!("`{name}` cannot be used: {why}"), None))
    }

    /// The type of an aggregate literal's elements so far, joined with the next one's: in
    /// Kubernetes' and Kyverno's environments the elements must have one type (`dyn` is one),
    /// except in a `format` call's arguments.
    pub(super) fn join(&mut self, at: &IdedExpr, prev: Option<Ty>, next: Ty) -> Option<Ty> {
        match prev {
            Some(p) if self.decls.form != Form::Paved && !self.mixed_literals && p != next => {
                let message = format!("expected type '{p}' but found '{next}': a literal's elements have one type");
                self.problem(at, message, Some("wrap the elements in `dyn(...)` to mix types".into()));
                None
            }
            prev => Some(unify(prev, next)),
        }
    }
}

/// What Kubernetes checks of a call when it builds the program: a conversion of a constant is
/// run (one that fails refuses the policy), and `format` with a literal text and a literal list
/// of known types is checked (verbs against arguments).
fn kubernetes_refuses(f: &Func, target: Option<&IdedExpr>, irs: &[Ir], types: &[Typed]) -> Option<String> {
    let run = |args: &[super::value::Value<'_>]| (f.imp)(args, None).err().map(|e| e.message);
    match (f.name, target, irs) {
        (name, None, [Ir::Const(c)]) if CONVERSIONS.contains(&name) => {
            run(&[super::interp::constant(c)]).map(|why| format!("`{name}` of a constant fails: {why}"))
        }
        ("format", Some(_), [Ir::Const(text), Ir::List(items, _)]) => {
            let Ty::List(elem) = &types.get(1)?.ty else { return None };
            let sample = sample(elem)?;
            let list = super::value::Value::list(vec![sample; items.len()]);
            run(&[super::interp::constant(text), list])
        }
        _ => None,
    }
}

/// A value of a type, to check a call against; `None` for a type whose values vary in kind.
fn sample(ty: &Ty) -> Option<super::value::Value<'static>> {
    use super::value::Value as V;
    Some(match ty {
        Ty::Bool => V::Bool(false),
        Ty::Int => V::Int(0),
        Ty::Uint => V::Uint(0),
        Ty::Double => V::Double(0.0),
        Ty::String => V::string(""),
        Ty::Bytes => V::Bytes(std::rc::Rc::from(&[][..])),
        Ty::List(_) => V::list(Vec::new()),
        Ty::Null => V::Null,
        _ => return None,
    })
}

/// The conversion functions, which Kubernetes runs when it builds a program if their argument
/// is a constant.
const CONVERSIONS: [&str; 9] = ["int", "uint", "double", "string", "bytes", "bool", "duration", "timestamp", "dyn"];

/// Why a function of paved's is not in the environment of a Kubernetes or Kyverno policy, if it
/// is not.
fn outside(form: Form, f: &Func, receiver: Option<&Ty>) -> Option<String> {
    match (form, f.name) {
        (Form::Paved, _) => None,
        (Form::Kubernetes, name) if name.starts_with("math.") => {
            Some(format!("`{name}` is not in Kubernetes' CEL, which has no math library"))
        }
        (Form::Kubernetes, name) if name.starts_with("base64.") => {
            Some(format!("`{name}` is not in Kubernetes' CEL, which has no encoders library"))
        }
        (_, "reverse") if f.member && receiver == Some(&Ty::String) => {
            Some("strings have no `reverse()` in Kubernetes' CEL (its strings library is version 2)".into())
        }
        (_, "sign") if f.member && receiver == Some(&Ty::Quantity) => {
            Some("Kubernetes' quantities have no `sign()`".into())
        }
        _ => None,
    }
}
