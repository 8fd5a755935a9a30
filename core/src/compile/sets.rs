//! Kubernetes' CEL `sets` library: `sets.contains`, `sets.equivalent` and `sets.intersects` over
//! lists, with CEL's equality (`1 == 1u == 1.0`). Scalars are hashed, so each call is linear in
//! the sizes of its lists; other elements (lists, maps, ...) are compared pairwise.

use std::collections::HashSet;

use cel::common::types::{CelBool, CelDouble, CelInt, CelNull, CelString, CelUInt, LIST_TYPE};
use cel::common::value::{CowVal, Val};
use cel::{DeclarationError, Env, ExecutionError};

/// Registers the library on `env`.
pub(crate) fn extension(env: &mut Env) -> Result<(), DeclarationError> {
    env.add_overload("sets.contains", "list_sets_contains_list", vec![LIST_TYPE, LIST_TYPE], contains)?;
    env.add_overload("sets.equivalent", "list_sets_equivalent_list", vec![LIST_TYPE, LIST_TYPE], equivalent)?;
    env.add_overload("sets.intersects", "list_sets_intersects_list", vec![LIST_TYPE, LIST_TYPE], intersects)?;
    Ok(())
}

/// A scalar element by its CEL identity: numbers that CEL calls equal have the same key.
#[derive(Debug, PartialEq, Eq, Hash)]
enum Key<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    /// A double that is not a whole number in the range of `int` or `uint` (NaN never is equal,
    /// and so never gets a key).
    Double(u64),
    Str(&'a str),
}

fn key<'a>(v: &'a dyn Val) -> Option<Key<'a>> {
    if let Some(s) = v.downcast_ref::<CelString>() {
        return Some(Key::Str(s.inner()));
    }
    if let Some(i) = v.downcast_ref::<CelInt>() {
        return Some(Key::Int(*i.inner()));
    }
    if let Some(u) = v.downcast_ref::<CelUInt>() {
        let u = *u.inner();
        return Some(i64::try_from(u).map_or(Key::UInt(u), Key::Int));
    }
    if let Some(d) = v.downcast_ref::<CelDouble>() {
        let d = *d.inner();
        if d.is_nan() {
            return None;
        }
        // 2^63 and 2^64, exactly: a whole double in these ranges equals an int or a uint.
        const I64_END: f64 = 9_223_372_036_854_775_808.0;
        const U64_END: f64 = 18_446_744_073_709_551_616.0;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let key = if d.fract() == 0.0 && (-I64_END..I64_END).contains(&d) {
            Key::Int(d as i64)
        } else if d.fract() == 0.0 && (0.0..U64_END).contains(&d) {
            Key::UInt(d as u64)
        } else {
            Key::Double(d.to_bits())
        };
        return Some(key);
    }
    if let Some(b) = v.downcast_ref::<CelBool>() {
        return Some(Key::Bool(*b.inner()));
    }
    v.downcast_ref::<CelNull>().map(|_| Key::Null)
}

/// The elements of a list, hashed where they can be.
struct Set<'b, 'v> {
    keys: HashSet<Key<'b>>,
    others: Vec<&'b (dyn Val + 'v)>,
}

impl<'b, 'v> Set<'b, 'v> {
    fn of(list: &'b (dyn Val + 'v)) -> Result<Self, ExecutionError> {
        let mut set = Set { keys: HashSet::new(), others: Vec::new() };
        let mut items = elements(list)?;
        while let Some(item) = items.next() {
            match key(item) {
                Some(k) => {
                    set.keys.insert(k);
                }
                None => set.others.push(item),
            }
        }
        Ok(set)
    }

    fn has(&self, item: &dyn Val) -> bool {
        match key(item) {
            Some(k) => self.keys.contains(&k),
            None => self.others.iter().any(|o| o.equals(item)),
        }
    }

    /// Whether every element of `list` is in the set.
    fn contains_all(&self, list: &dyn Val) -> Result<bool, ExecutionError> {
        let mut items = elements(list)?;
        while let Some(item) = items.next() {
            if !self.has(item) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Whether any element of `list` is in the set.
    fn contains_any(&self, list: &dyn Val) -> Result<bool, ExecutionError> {
        let mut items = elements(list)?;
        while let Some(item) = items.next() {
            if self.has(item) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

fn elements<'b, 'v>(
    list: &'b (dyn Val + 'v),
) -> Result<Box<dyn cel::common::traits::Iterator<'b, 'v> + 'b>, ExecutionError> {
    let iterable = list.as_iterable().ok_or_else(|| ExecutionError::UnexpectedType {
        got: list.get_type().name().to_owned(),
        want: "list".to_owned(),
    })?;
    Ok(iterable.iter())
}

fn two<'b, 'v>(name: &str, args: Vec<CowVal<'b, 'v>>) -> Result<[CowVal<'b, 'v>; 2], ExecutionError> {
    args.try_into().map_err(|args: Vec<_>| {
        ExecutionError::function_error(name, format!("takes two lists, not {} arguments", args.len()))
    })
}

fn boolean<'b, 'v>(b: bool) -> CowVal<'b, 'v> {
    CowVal::owned(CelBool::from(b))
}

/// `sets.contains(a, b)`: every element of `b` is in `a`.
fn contains<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [a, b] = two("sets.contains", args)?;
    Ok(boolean(Set::of(a.as_ref())?.contains_all(b.as_ref())?))
}

/// `sets.equivalent(a, b)`: each contains the other.
fn equivalent<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [a, b] = two("sets.equivalent", args)?;
    let (a, b) = (a.as_ref(), b.as_ref());
    Ok(boolean(Set::of(a)?.contains_all(b)? && Set::of(b)?.contains_all(a)?))
}

/// `sets.intersects(a, b)`: some element is in both.
fn intersects<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [a, b] = two("sets.intersects", args)?;
    Ok(boolean(Set::of(a.as_ref())?.contains_any(b.as_ref())?))
}

#[cfg(test)]
mod tests {
    use crate::compile::expr::{compile, ENV};

    fn eval(source: &str) -> cel::Value {
        let e = compile(source, &[]).unwrap_or_else(|(m, h)| panic!("{source}: {m} {h:?}"));
        e.program.execute(&cel::Context::with_env(ENV.clone())).unwrap_or_else(|err| panic!("{source}: {err}"))
    }

    /// The cases of Kubernetes' sets library documentation and tests, and CEL's numeric equality.
    #[test]
    fn kubernetes_semantics() {
        for (source, want) in [
            ("sets.contains([], [])", true),
            ("sets.contains([], [1])", false),
            ("sets.contains([1, 2, 3, 4], [2, 3])", true),
            ("sets.contains([1, 2, 3], [3, 2, 1])", true),
            ("sets.contains([2], [2, 2])", true),
            ("sets.contains([1], [1.0, 1u])", true),
            ("sets.contains([1.5], [1.5])", true),
            ("sets.contains(['a'], [1])", false),
            ("sets.contains([[1], [2, 3]], [[2, 3]])", true),
            ("sets.contains([{'a': 1}], [{'a': 2}])", false),
            ("sets.contains([null, true], [true, null])", true),
            ("sets.contains([-1.0], [-1])", true),
            ("sets.contains([18446744073709551615u], [1.8446744073709552e19])", false),
            ("sets.equivalent([], [])", true),
            ("sets.equivalent([1], [1, 1])", true),
            ("sets.equivalent([1], [1u, 1.0])", true),
            ("sets.equivalent([1, 2, 3], [3u, 2.0, 1])", true),
            ("sets.equivalent([1, 2], [2, 2, 2])", false),
            ("sets.intersects([1], [])", false),
            ("sets.intersects([1], [1, 2])", true),
            ("sets.intersects([[1], [2, 3]], [[1, 2], [2, 3.0]])", true),
            ("sets.intersects(['a', 'b'], ['c'])", false),
        ] {
            assert_eq!(eval(source), cel::Value::Bool(want), "{source}");
        }
    }

    #[test]
    fn not_a_list_is_an_error() {
        let e = compile("sets.contains([1], 1)", &[]);
        let failed = match e {
            Err(_) => true,
            Ok(e) => e.program.execute(&cel::Context::with_env(ENV.clone())).is_err(),
        };
        assert!(failed);
    }
}
