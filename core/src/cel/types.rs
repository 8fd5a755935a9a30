//! The types the checker knows: CEL's own, Kubernetes' library types, and objects typed by a
//! Kubernetes schema so that `object.spec.replicsa` is caught when the policy loads.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde_json::Value as Json;

use crate::k8s::schema::{Field, Version};

/// A static type.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Ty {
    Dyn,
    Null,
    Bool,
    Int,
    Uint,
    Double,
    String,
    Bytes,
    Duration,
    Timestamp,
    Type,
    List(Box<Ty>),
    Map(Box<Ty>, Box<Ty>),
    Optional(Box<Ty>),
    Quantity,
    Url,
    Ip,
    Cidr,
    Semver,
    /// A Kyverno image reference.
    Image,
    /// An object whose fields schemas declare: one kind's, or, where a policy matches several
    /// kinds, each of theirs (a field any of them has is a field).
    Object(Vec<Schema>),
    /// The inventory: only its functions read it.
    Inventory,
}

/// Where an object's fields are declared: a node of a Kubernetes schema (with the version that
/// resolves its references), or a record built from a schema paved read (a policy's params).
#[derive(Clone)]
pub(crate) enum Schema {
    Kubernetes {
        version: &'static Version,
        node: &'static Json,
        /// What the object is, for messages (`Deployment`, `object.spec`).
        name: &'static str,
    },
    Declared(Arc<Record>),
}

impl Schema {
    fn name(&self) -> &str {
        match self {
            Schema::Kubernetes { name, .. } => name,
            Schema::Declared(r) => &r.name,
        }
    }
}

impl PartialEq for Schema {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Schema::Kubernetes { node: a, .. }, Schema::Kubernetes { node: b, .. }) => std::ptr::eq(*a, *b),
            (Schema::Declared(a), Schema::Declared(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Schema({})", self.name())
    }
}

/// An object whose fields a JSON Schema declares (`properties`), each with its type and the
/// largest size its value may have (`maxItems`, `maxLength`, `maxProperties`).
#[derive(Debug)]
pub(crate) struct Record {
    /// What it is, for messages (`params`, `params.limits`).
    pub name: String,
    pub fields: BTreeMap<String, (Ty, Option<u64>)>,
    /// The type of the fields it does not name (`additionalProperties`); `None` when there are
    /// none.
    pub others: Option<Ty>,
}

impl Ty {
    /// The type of values a JSON Schema (or OpenAPI v3 schema, as Kubernetes' CRDs and
    /// Gatekeeper's templates write them) allows, and the largest size it allows them. An
    /// object with `properties` has those fields and no others unless `additionalProperties`
    /// or `x-kubernetes-preserve-unknown-fields` says so, as Kubernetes reads structural
    /// schemas.
    pub(crate) fn of_declared(schema: &Json, name: &str) -> (Ty, Option<u64>) {
        let bound = |key: &str| schema.get(key).and_then(Json::as_u64);
        if schema.get("x-kubernetes-int-or-string").and_then(Json::as_bool) == Some(true) {
            return (Ty::Dyn, None);
        }
        let open = schema.get("x-kubernetes-preserve-unknown-fields").and_then(Json::as_bool) == Some(true);
        match schema.get("type").and_then(Json::as_str) {
            Some("string") => (Ty::String, bound("maxLength")),
            Some("integer") => (Ty::Int, None),
            Some("boolean") => (Ty::Bool, None),
            Some("array") => {
                let items = schema.get("items").map_or(Ty::Dyn, |i| Ty::of_declared(i, name).0);
                (Ty::list(items), bound("maxItems"))
            }
            Some("object") | None if schema.get("properties").is_some_and(Json::is_object) => {
                let fields = schema
                    .get("properties")
                    .and_then(Json::as_object)
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), Ty::of_declared(v, &format!("{name}.{k}"))))
                    .collect();
                let others = match schema.get("additionalProperties") {
                    Some(Json::Object(o)) => Some(Ty::of_declared(&Json::Object(o.clone()), name).0),
                    Some(Json::Bool(true)) => Some(Ty::Dyn),
                    _ if open => Some(Ty::Dyn),
                    _ => None,
                };
                let record = Record { name: name.to_owned(), fields, others };
                (Ty::Object(vec![Schema::Declared(Arc::new(record))]), bound("maxProperties"))
            }
            Some("object") => match schema.get("additionalProperties") {
                Some(v @ Json::Object(_)) => (Ty::map(Ty::String, Ty::of_declared(v, name).0), bound("maxProperties")),
                _ => (Ty::map(Ty::String, Ty::Dyn), bound("maxProperties")),
            },
            // `number` is read from JSON as an int or a double, whichever it was written as.
            _ => (Ty::Dyn, None),
        }
    }

    /// The largest size a field's value may have, where its schema says.
    pub(crate) fn member_bound(&self, name: &str) -> Option<u64> {
        let Ty::Object(schemas) = self else { return None };
        let bounds: Vec<Option<u64>> = schemas
            .iter()
            .map(|s| match s {
                Schema::Declared(r) => r.fields.get(name).and_then(|(_, b)| *b),
                Schema::Kubernetes { .. } => None,
            })
            .collect();
        // Every schema that has the field must bound it.
        bounds.iter().copied().collect::<Option<Vec<u64>>>().and_then(|b| b.into_iter().max())
    }
}

/// What a field of a type is.
pub(crate) enum Member {
    Field(Ty),
    /// Not a field of the object; the help says what was probably meant.
    Unknown(Option<String>),
}

impl Ty {
    /// One type for values of any of `types`: objects' schemas together, the type itself where
    /// all agree, `dyn` otherwise; `None` for no types.
    pub(crate) fn union(types: Vec<Ty>) -> Option<Ty> {
        let mut iter = types.into_iter();
        let first = iter.next()?;
        Some(iter.fold(first, |acc, t| match (acc, t) {
            (Ty::Object(mut a), Ty::Object(b)) => {
                for s in b {
                    if !a.contains(&s) {
                        a.push(s);
                    }
                }
                Ty::Object(a)
            }
            (a, b) if a == b => a,
            _ => Ty::Dyn,
        }))
    }

    pub(crate) fn list(t: Ty) -> Ty {
        Ty::List(Box::new(t))
    }

    pub(crate) fn map(k: Ty, v: Ty) -> Ty {
        Ty::Map(Box::new(k), Box::new(v))
    }

    /// The type of a schema node.
    pub(crate) fn of_schema(version: &'static Version, node: &'static Json, name: &'static str) -> Ty {
        let node = version.resolve_refs(node);
        if node.get("x-kubernetes-int-or-string").is_some()
            || node.get("x-kubernetes-preserve-unknown-fields").and_then(Json::as_bool) == Some(true)
        {
            return Ty::Dyn;
        }
        let ty = match node.get("type") {
            Some(Json::String(t)) => Some(t.as_str()),
            Some(Json::Array(ts)) => {
                let named: Vec<&str> = ts.iter().filter_map(Json::as_str).filter(|t| *t != "null").collect();
                match named.as_slice() {
                    [one] => Some(*one),
                    _ => None,
                }
            }
            _ => None,
        };
        match ty {
            Some("string") => Ty::String,
            Some("integer") => Ty::Int,
            Some("boolean") => Ty::Bool,
            Some("array") => match node.get("items") {
                Some(items) => Ty::list(Ty::of_schema(version, items, name)),
                None => Ty::list(Ty::Dyn),
            },
            Some("object") | None if node.get("properties").is_some() => {
                Ty::Object(vec![Schema::Kubernetes { version, node, name }])
            }
            Some("object") => match node.get("additionalProperties") {
                Some(items @ Json::Object(_)) => Ty::map(Ty::String, Ty::of_schema(version, items, name)),
                _ => Ty::map(Ty::String, Ty::Dyn),
            },
            // `number` is read from JSON as an int or a double, whichever it was written as.
            _ => Ty::Dyn,
        }
    }

    /// The field `name` of a value of this type.
    pub(crate) fn member(&self, name: &str) -> Member {
        match self {
            // A message literal's fields are what it was given: known when it runs.
            Ty::Object(schemas) if schemas.is_empty() => Member::Field(Ty::Dyn),
            Ty::Object(schemas) => {
                let mut found: Vec<Ty> = Vec::new();
                let mut help = None;
                for s in schemas {
                    match s {
                        Schema::Kubernetes { version, node, name: of } => match version.field(node, name) {
                            Field::Known(node) => found.push(Ty::of_schema(version, node, of)),
                            Field::Open => found.push(Ty::Dyn),
                            Field::Unknown(h) => help = help.or(h),
                        },
                        Schema::Declared(r) => match (r.fields.get(name), &r.others) {
                            (Some((t, _)), _) => found.push(t.clone()),
                            (None, Some(t)) => found.push(t.clone()),
                            (None, None) => {
                                let named = crate::error::did_you_mean(name, r.fields.keys().map(String::as_str));
                                help = help.or(Some(match named {
                                    Some(n) => format!("did you mean `{n}`?"),
                                    None if r.fields.is_empty() => format!("{} declares no fields", r.name),
                                    None => format!(
                                        "the fields of {} are: {}",
                                        r.name,
                                        r.fields.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
                                    ),
                                }));
                            }
                        },
                    }
                }
                match Ty::union(found) {
                    Some(t) => Member::Field(t),
                    None => Member::Unknown(help),
                }
            }
            Ty::Map(_, v) => Member::Field((**v).clone()),
            _ => Member::Field(Ty::Dyn),
        }
    }

    /// Whether a value of this type may be selected from with `.field`.
    pub(crate) fn selectable(&self) -> bool {
        matches!(self, Ty::Dyn | Ty::Object(_) | Ty::Map(..))
    }

    /// The element type of a list, or the key type of a map; what a comprehension iterates.
    pub(crate) fn element(&self) -> Option<Ty> {
        match self {
            Ty::Dyn => Some(Ty::Dyn),
            Ty::List(e) => Some((**e).clone()),
            Ty::Map(k, _) => Some((**k).clone()),
            Ty::Object(_) => Some(Ty::String),
            _ => None,
        }
    }

    /// Whether values of the two types could be equal (one of them is `dyn`, or they agree), as
    /// Kubernetes' checker decides for `==`, `in` and a function's type parameters: int, uint and
    /// double are three types (they are only ordered across, see `op_ordering`).
    pub(crate) fn compatible(&self, other: &Ty) -> bool {
        use Ty::*;
        match (self, other) {
            (Dyn, _) | (_, Dyn) => true,
            (Object(_), Map(..)) | (Map(..), Object(_)) | (Object(_), Object(_)) => true,
            (List(a), List(b)) => a.compatible(b),
            (Map(ka, va), Map(kb, vb)) => ka.compatible(kb) && va.compatible(vb),
            (Optional(a), Optional(b)) => a.compatible(b),
            (Null, Optional(_)) | (Optional(_), Null) => true,
            // An object may be null (`oldObject == null` on a CREATE), as Kubernetes' checker
            // allows for its object types.
            (Null, Object(_)) | (Object(_), Null) => true,
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Dyn => f.write_str("dyn"),
            Ty::Null => f.write_str("null"),
            Ty::Bool => f.write_str("bool"),
            Ty::Int => f.write_str("int"),
            Ty::Uint => f.write_str("uint"),
            Ty::Double => f.write_str("double"),
            Ty::String => f.write_str("string"),
            Ty::Bytes => f.write_str("bytes"),
            Ty::Duration => f.write_str("duration"),
            Ty::Timestamp => f.write_str("timestamp"),
            Ty::Type => f.write_str("type"),
            Ty::List(e) => write!(f, "list({e})"),
            Ty::Map(k, v) => write!(f, "map({k}, {v})"),
            Ty::Optional(e) => write!(f, "optional({e})"),
            Ty::Quantity => f.write_str("Quantity"),
            Ty::Url => f.write_str("URL"),
            Ty::Ip => f.write_str("IP"),
            Ty::Cidr => f.write_str("CIDR"),
            Ty::Semver => f.write_str("Semver"),
            Ty::Image => f.write_str("kyverno.image"),
            Ty::Inventory => f.write_str("Inventory"),
            // A message literal's (`Object{...}`, `JSONPatch{...}`).
            Ty::Object(s) if s.is_empty() => f.write_str("Object"),
            Ty::Object(s) => {
                let mut names: Vec<&str> = s.iter().map(Schema::name).collect();
                names.dedup();
                f.write_str(&names.join(" or "))
            }
        }
    }
}

/// A parameter or result type in a function's signature; `A` is a type parameter (and a map's
/// value type, in `MapAB`, a second one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum T {
    Dyn,
    Bool,
    Int,
    Uint,
    Double,
    String,
    Bytes,
    Duration,
    Timestamp,
    Type,
    A,
    ListA,
    ListString,
    ListInt,
    ListListA,
    MapAB,
    OptA,
    Quantity,
    Url,
    Ip,
    Cidr,
    Semver,
    Image,
    Inventory,
    ListDyn,
    OptDyn,
}

/// The bindings of `A` and `B` while a call is checked.
pub(crate) type Binds = [Option<Ty>; 2];

impl T {
    /// Whether an argument of type `arg` fits this parameter, binding type parameters.
    pub(crate) fn accepts(self, arg: &Ty, binds: &mut Binds) -> bool {
        let bind = |slot: usize, t: &Ty, binds: &mut Binds| -> bool {
            let Some(bound) = binds.get_mut(slot) else { return false };
            match bound {
                None => {
                    *bound = Some(t.clone());
                    true
                }
                // `dyn` is the most general: what is bound to it stays `dyn`.
                Some(Ty::Dyn) => true,
                Some(b) => b.compatible(t),
            }
        };
        if *arg == Ty::Dyn {
            return true;
        }
        match (self, arg) {
            (T::Dyn, _) => true,
            (T::A, t) => bind(0, t, binds),
            (T::ListA, Ty::List(e)) => bind(0, e, binds),
            (T::ListListA, Ty::List(e)) => match &**e {
                Ty::List(inner) => bind(0, inner, binds),
                Ty::Dyn => true,
                _ => false,
            },
            (T::ListString, Ty::List(e)) => matches!(**e, Ty::String | Ty::Dyn),
            (T::ListInt, Ty::List(e)) => matches!(**e, Ty::Int | Ty::Dyn),
            (T::MapAB, Ty::Map(k, v)) => bind(0, k, binds) && bind(1, v, binds),
            (T::MapAB, Ty::Object(_)) => bind(0, &Ty::String, binds) && bind(1, &Ty::Dyn, binds),
            (T::OptA, Ty::Optional(e)) => bind(0, e, binds),
            (p, a) => p.concrete().as_ref() == Some(a),
        }
    }

    fn concrete(self) -> Option<Ty> {
        Some(match self {
            T::Bool => Ty::Bool,
            T::Int => Ty::Int,
            T::Uint => Ty::Uint,
            T::Double => Ty::Double,
            T::String => Ty::String,
            T::Bytes => Ty::Bytes,
            T::Duration => Ty::Duration,
            T::Timestamp => Ty::Timestamp,
            T::Type => Ty::Type,
            T::Quantity => Ty::Quantity,
            T::Url => Ty::Url,
            T::Ip => Ty::Ip,
            T::Cidr => Ty::Cidr,
            T::Semver => Ty::Semver,
            T::Image => Ty::Image,
            T::Inventory => Ty::Inventory,
            T::ListDyn => Ty::list(Ty::Dyn),
            T::OptDyn => Ty::Optional(Box::new(Ty::Dyn)),
            _ => return None,
        })
    }

    /// This type with the type parameters bound (unbound ones are `dyn`).
    pub(crate) fn instantiate(self, binds: &Binds) -> Ty {
        let a = || binds[0].clone().unwrap_or(Ty::Dyn);
        let b = || binds[1].clone().unwrap_or(Ty::Dyn);
        match self {
            T::Dyn => Ty::Dyn,
            T::A => a(),
            T::ListA => Ty::list(a()),
            T::ListListA => Ty::list(Ty::list(a())),
            T::ListString => Ty::list(Ty::String),
            T::ListInt => Ty::list(Ty::Int),
            T::MapAB => Ty::map(a(), b()),
            T::OptA => Ty::Optional(Box::new(a())),
            other => other.concrete().unwrap_or(Ty::Dyn),
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            T::Dyn => "dyn",
            T::Bool => "bool",
            T::Int => "int",
            T::Uint => "uint",
            T::Double => "double",
            T::String => "string",
            T::Bytes => "bytes",
            T::Duration => "duration",
            T::Timestamp => "timestamp",
            T::Type => "type",
            T::A => "A",
            T::ListA => "list(A)",
            T::ListString => "list(string)",
            T::ListInt => "list(int)",
            T::ListListA => "list(list(A))",
            T::MapAB => "map(A, B)",
            T::OptA => "optional(A)",
            T::Quantity => "Quantity",
            T::Url => "URL",
            T::Ip => "IP",
            T::Cidr => "CIDR",
            T::Semver => "Semver",
            T::Image => "kyverno.image",
            T::Inventory => "Inventory",
            T::ListDyn => "list(dyn)",
            T::OptDyn => "optional(dyn)",
        }
    }
}

/// The runtime types, as `type(x)` gives them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Null,
    Bool,
    Int,
    Uint,
    Double,
    String,
    Bytes,
    List,
    Map,
    Type,
    Duration,
    Timestamp,
    Optional,
    Quantity,
    Url,
    Ip,
    Cidr,
    Semver,
    Image,
    Inventory,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Null => "null_type",
            Kind::Bool => "bool",
            Kind::Int => "int",
            Kind::Uint => "uint",
            Kind::Double => "double",
            Kind::String => "string",
            Kind::Bytes => "bytes",
            Kind::List => "list",
            Kind::Map => "map",
            Kind::Type => "type",
            Kind::Duration => "google.protobuf.Duration",
            Kind::Timestamp => "google.protobuf.Timestamp",
            Kind::Optional => "optional_type",
            Kind::Quantity => "kubernetes.Quantity",
            Kind::Url => "kubernetes.URL",
            Kind::Ip => "net.IP",
            Kind::Cidr => "net.CIDR",
            Kind::Semver => "kubernetes.Semver",
            Kind::Image => "kyverno.image",
            Kind::Inventory => "paved.Inventory",
        }
    }

    /// The type an identifier names (`int`, `string`, ...), if it names one.
    pub(crate) fn named(name: &str) -> Option<Kind> {
        Some(match name {
            "null_type" => Kind::Null,
            "bool" => Kind::Bool,
            "int" => Kind::Int,
            "uint" => Kind::Uint,
            "double" => Kind::Double,
            "string" => Kind::String,
            "bytes" => Kind::Bytes,
            "list" => Kind::List,
            "map" => Kind::Map,
            "type" => Kind::Type,
            "google.protobuf.Duration" => Kind::Duration,
            "google.protobuf.Timestamp" => Kind::Timestamp,
            "optional_type" => Kind::Optional,
            "kubernetes.Quantity" => Kind::Quantity,
            "kubernetes.URL" => Kind::Url,
            "net.IP" => Kind::Ip,
            "net.CIDR" => Kind::Cidr,
            "kubernetes.Semver" => Kind::Semver,
            "kyverno.image" => Kind::Image,
            _ => return None,
        })
    }
}
