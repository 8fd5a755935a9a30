//! Kyverno's CEL libraries, for Kyverno's policies only: those whose answer is a function of
//! the expression's inputs (image references, `resource` lookups answered from the inventory,
//! JSON and YAML, hashes, service-account names), and the names of those that are not (the
//! network, the clock, randomness), which are refused when a policy loads.

use std::rc::Rc;

#[allow(clippy::wildcard_imports)]
use super::args::*;
use super::table::Func;
use crate::cel::ext::Ext;
use crate::cel::image::ImageRef;
use crate::cel::types::T::{self, *};
use crate::cel::value::{Error, Map, Value};

macro_rules! f {
    ($name:literal, $member:literal, [$(([$($a:expr),*], $r:expr)),* $(,)?], $imp:expr) => {
        Func { name: $name, member: $member, sigs: &[$((&[$($a),*], $r)),*], imp: $imp }
    };
}

const GET: &[(&[T], T)] = &[(&[Inventory, String, String, String, String], Dyn)];
const LIST: &[(&[T], T)] =
    &[(&[Inventory, String, String, String], Dyn), (&[Inventory, String, String, String, MapAB], Dyn)];

pub(super) static KYVERNO: &[Func] = &[
    // cel-go before 0.28, which Kyverno keeps: `x.orValue(y)` on a value that is not an
    // optional gives the value.
    f!("orValue", true, [([Dyn, Dyn], Dyn)], |a, _| match arg(a, 0)? {
        Value::Optional(Some(v)) => Ok((**v).clone()),
        Value::Optional(None) => arg(a, 1).cloned(),
        other => Ok(other.clone()),
    }),
    // Image references.
    f!("image", false, [([String], Image)], |a, _| parse_image(a)),
    f!("parseImageReference", false, [([String], Image)], |a, _| parse_image(a)),
    f!("isImage", false, [([String], Bool)], |a, _| Ok(Value::Bool(ImageRef::parse(s(a, 0)?).is_ok()))),
    f!("containsDigest", true, [([Image], Bool)], |a, _| Ok(Value::Bool(!image(a)?.digest().is_empty()))),
    f!("registry", true, [([Image], String)], |a, _| Ok(Value::string(image(a)?.registry()))),
    f!("repository", true, [([Image], String)], |a, _| Ok(Value::string(image(a)?.repository()))),
    f!("identifier", true, [([Image], String)], |a, _| Ok(Value::string(image(a)?.identifier()))),
    f!("tag", true, [([Image], String)], |a, _| Ok(Value::string(image(a)?.tag()))),
    f!("digest", true, [([Image], String)], |a, _| Ok(Value::string(image(a)?.digest()))),
    // `resource`, answered from the inventory.
    Func { name: "Get", member: true, sigs: GET, imp: crate::cel::lookup::resource_get },
    Func { name: "get", member: true, sigs: GET, imp: crate::cel::lookup::resource_get },
    Func { name: "List", member: true, sigs: LIST, imp: crate::cel::lookup::resource_list },
    Func { name: "list", member: true, sigs: LIST, imp: crate::cel::lookup::resource_list },
    // JSON and YAML.
    f!("json.unmarshal", false, [([String], Dyn)], |a, _| {
        let v: serde_json::Value =
            serde_json::from_str(s(a, 0)?).map_err(|e| Error::new(format!("json.unmarshal: {e}")))?;
        Ok(owned(v))
    }),
    f!("json.marshal", false, [([Dyn], String)], |a, _| {
        let v = arg(a, 0)?.to_json()?;
        Ok(Value::string(serde_json::to_string(&sorted(v)).map_err(|e| Error::new(e.to_string()))?))
    }),
    f!("yaml.parse", false, [([String], Dyn)], |a, _| {
        let budget = crate::load::yaml::AliasBudget::default();
        let docs = crate::load::yaml::parse_full(s(a, 0)?, crate::load::yaml::Schema::Kubernetes, &budget)
            .map_err(|e| Error::new(format!("yaml.parse: {}", e.message)))?;
        Ok(docs.into_iter().next().map_or(Value::Null, |d| owned(d.value)))
    }),
    // Hashes, as lower-case hex.
    f!("sha256", false, [([String], String)], |a, _| hash::<sha2::Sha256>(a)),
    f!("hash.sha256", false, [([String], String)], |a, _| hash::<sha2::Sha256>(a)),
    f!("sha1", false, [([String], String)], |a, _| hash::<sha1::Sha1>(a)),
    f!("hash.sha1", false, [([String], String)], |a, _| hash::<sha1::Sha1>(a)),
    f!("md5", false, [([String], String)], |a, _| hash::<md5::Md5>(a)),
    f!("hash.md5", false, [([String], String)], |a, _| hash::<md5::Md5>(a)),
    // `system:serviceaccount:NAMESPACE:NAME` as `{Namespace, Name}` (both empty otherwise).
    f!("parseServiceAccount", false, [([String], Dyn)], |a, _| service_account(a)),
    f!("user.parseServiceAccount", false, [([String], Dyn)], |a, _| service_account(a)),
    f!("math.round", false, [([Double], Double), ([Double, Int], Double)], |a, _| {
        let v = d(a, 0)?;
        let shift = 10f64.powf(a.get(1).map_or(Ok(0), |_| int(a, 1))? as f64);
        Ok(Value::Double(if a.len() > 1 { (v * shift).round() / shift } else { v.round() }))
    }),
];

/// Kyverno's functions paved does not run, and why: a policy that calls one does not load.
pub(crate) fn refused(name: &str) -> Option<&'static str> {
    let network = "it reaches the network or the cluster, and paved decides from what it is given: \
                   give the value as a variable, or the objects through the inventory";
    Some(match name {
        "http.Get" | "http.Post" | "http.Client" => network,
        "image.GetMetadata" | "imagedata.Get" => network,
        "globalContext.Get" => network,
        "resource.Post" | "resource.post" => "it writes to the cluster, and paved only decides",
        "random" | "random.random" => "its answer is random, and paved decides the same every time",
        "time.now" => {
            "it reads the clock, and paved decides the same every time: compare with a timestamp given as a variable"
        }
        "time.toCron"
        | "time.truncate"
        | "x509.decode"
        | "gzip.compress"
        | "gzip.decompress"
        | "listObjToMap"
        | "transform.listObjToMap" => "paved does not implement it yet",
        _ => return None,
    })
}

fn parse_image<'a>(a: &[Value<'a>]) -> Result<Value<'a>, Error> {
    let r = ImageRef::parse(s(a, 0)?).map_err(Error::new)?;
    Ok(Value::Ext(Rc::new(Ext::Image(r))))
}

fn image<'v>(a: &'v [Value<'_>]) -> Result<&'v ImageRef, Error> {
    match arg(a, 0)? {
        Value::Ext(e) => match &**e {
            Ext::Image(r) => Ok(r),
            _ => Err(no_overload("image", a)),
        },
        _ => Err(no_overload("image", a)),
    }
}

/// A value made from JSON the expression read, with every number a double, as Go's decoder
/// reads numbers into `any`.
fn owned<'a>(v: serde_json::Value) -> Value<'a> {
    use serde_json::Value as Json;
    match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(b),
        Json::Number(n) => Value::Double(n.as_f64().unwrap_or(f64::NAN)),
        Json::String(s) => Value::string(s),
        Json::Array(items) => Value::list(items.into_iter().map(owned).collect()),
        Json::Object(m) => {
            Value::Map(Map::Owned(Rc::new(m.into_iter().map(|(k, v)| (Value::string(k), owned(v))).collect())))
        }
    }
}

/// JSON with every object's keys in order, as Go's encoder writes them.
fn sorted(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let mut pairs: Vec<_> = m.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            pairs.sort_by(|x, y| x.0.cmp(&y.0));
            serde_json::Value::Object(pairs.into_iter().collect())
        }
        serde_json::Value::Array(items) => serde_json::Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn hash<'a, H: sha2::Digest>(a: &[Value<'a>]) -> Result<Value<'a>, Error> {
    let digest = H::digest(s(a, 0)?.as_bytes());
    Ok(Value::string(digest.iter().map(|b| format!("{b:02x}")).collect::<std::string::String>()))
}

fn service_account<'a>(a: &[Value<'a>]) -> Result<Value<'a>, Error> {
    let user = s(a, 0)?;
    let (namespace, name) =
        user.strip_prefix("system:serviceaccount:").and_then(|rest| rest.split_once(':')).unwrap_or_default();
    let map = [("Name", name), ("Namespace", namespace)]
        .into_iter()
        .map(|(k, v)| (Value::string(k), Value::string(v)))
        .collect();
    Ok(Value::Map(Map::Owned(Rc::new(map))))
}
