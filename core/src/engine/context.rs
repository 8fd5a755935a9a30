//! What an evaluation may know of the world: the instant, the operation, namespaces, the user,
//! params and the inventory.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::cel::Budget;
use crate::engine::inventory::Inventory;
use crate::error::Error;
use crate::k8s::Operation;

/// What an evaluation may know of the world. Everything time- or cluster-dependent comes in
/// here, from the caller: the engine reads no clock, environment or network.
///
/// From JSON (as the bindings and the WebAssembly build take it), every field optional but
/// `now`:
///
/// ```
/// let ctx: paved::Context = serde_json::from_str(r#"{
///   "now": "2026-06-01T00:00:00Z",
///   "operation": "UPDATE",
///   "namespaces": {"payments": {"env": "production"}},
///   "params": {"platform-baseline": {"registries": ["registry.acme.dev/"]}},
///   "userInfo": {"username": "alice"}
/// }"#)?;
/// assert_eq!(ctx.operation, paved::Operation::Update);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct Context {
    /// The instant exceptions are judged at (RFC 3339, or a date meaning 00:00 UTC).
    #[serde(deserialize_with = "instant")]
    pub now: Timestamp,
    /// The admission operation (`CREATE` for `paved check`).
    #[serde(default)]
    pub operation: Operation,
    /// Labels of namespaces, by name, for `namespaceSelector`. `Namespace` objects among the
    /// evaluated resources override these with their own labels (they are the newer state).
    #[serde(default)]
    pub namespaces: BTreeMap<String, BTreeMap<String, String>>,
    /// Parameter overrides by policy name, merged over each policy's `spec.params`.
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    /// The requesting user (`request.userInfo`), when known.
    #[serde(default)]
    pub user_info: Value,
    /// The namespace objects that do not name one are applied into, as `kubectl apply -n`
    /// would; `default` when not given. Cluster-scoped kinds are in no namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// The other objects policies may look up (`inventory` in CEL), besides the evaluated
    /// resources, which are always in it. Set with [`Context::inventory`].
    #[serde(skip)]
    pub inventory: Option<Arc<Inventory>>,
    /// What the evaluation may spend in CEL cost, and the flag that stops it. Set with
    /// [`Context::budget`].
    #[serde(skip)]
    pub budget: Option<Budget>,
    /// Verdicts on the images `verifyImages` rules ask about (see
    /// [`Engine::image_requests`](crate::Engine::image_requests)); an image without one is not
    /// verified.
    #[serde(default)]
    pub images: crate::model::ImageVerdicts,
}

fn instant<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(d)?;
    crate::compile::exception::parse_instant(&text).map_err(serde::de::Error::custom)
}

impl Context {
    /// A context at the instant `now`, for `CREATE`, with nothing else known.
    pub fn at(now: Timestamp) -> Self {
        Context {
            now,
            operation: Operation::Create,
            namespaces: BTreeMap::new(),
            params: BTreeMap::new(),
            user_info: Value::Null,
            namespace: None,
            inventory: None,
            budget: None,
            images: crate::model::ImageVerdicts::default(),
        }
    }

    /// Sets the evaluation's budget: a total CEL cost, and a flag another thread can stop it
    /// with (see [`Budget`]).
    pub fn budget(mut self, budget: Budget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Sets the verdicts on images that `verifyImages` rules judge.
    pub fn images(mut self, verdicts: crate::model::ImageVerdicts) -> Self {
        self.images = verdicts;
        self
    }

    /// Sets the objects policies may look up besides the evaluated ones (`inventory` in CEL):
    /// a live cluster's export, the rest of a repository.
    pub fn inventory(mut self, inventory: Inventory) -> Self {
        self.inventory = Some(Arc::new(inventory));
        self
    }

    /// Sets the namespace objects without `metadata.namespace` are applied into.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// A context at an instant given as text: RFC 3339 (`2026-12-31T18:00:00Z`) or a date
    /// (`2026-12-31`, meaning 00:00 UTC).
    ///
    /// ```
    /// let ctx = paved::Context::parse_at("2026-12-31")?;
    /// assert_eq!(ctx.now.to_string(), "2026-12-31T00:00:00Z");
    /// # Ok::<(), paved::Error>(())
    /// ```
    pub fn parse_at(now: &str) -> Result<Self, Error> {
        crate::compile::exception::parse_instant(now).map(Context::at).map_err(|reason| Error::Input { reason })
    }

    /// Sets the admission operation.
    pub fn operation(mut self, operation: Operation) -> Self {
        self.operation = operation;
        self
    }

    /// Sets policy params as `paved check --set` does: `POLICY.PARAM` to a value, or `POLICY`
    /// to an object of params (merged over those set before).
    ///
    /// ```
    /// let ctx = paved::Context::parse_at("2026-06-01")?
    ///     .set("images.registries", serde_json::json!(["registry.acme.dev/"]))?
    ///     .set("cost-labels", serde_json::json!({"labels": ["team"]}))?;
    /// assert_eq!(ctx.params["images"]["registries"][0], "registry.acme.dev/");
    /// assert!(ctx.clone().set("images", serde_json::json!(3)).is_err());
    /// # Ok::<(), paved::Error>(())
    /// ```
    pub fn set(mut self, key: &str, value: Value) -> Result<Self, Error> {
        set_param(&mut self.params, key, value)?;
        Ok(self)
    }

    /// Sets the labels of namespaces, by name.
    pub fn namespaces(mut self, namespaces: BTreeMap<String, BTreeMap<String, String>>) -> Self {
        self.namespaces = namespaces;
        self
    }

    /// Adds the labels of namespaces read from files: `Namespace` objects (or a `List` of them,
    /// as `kubectl get namespaces -o yaml` prints), or a mapping of namespace name to labels
    /// (`payments: {env: production}`). Reads the files it is given, and nothing else.
    pub fn read_namespaces<P: Into<PathBuf> + Clone>(mut self, paths: &[P]) -> Result<Self, Error> {
        self.namespaces.extend(crate::engine::resource::read_namespace_labels(paths)?);
        Ok(self)
    }

    /// Sets one param from `POLICY.PARAM=VALUE`, as `paved check --set` takes it: the value is
    /// JSON when it parses as JSON, else a string.
    ///
    /// ```
    /// let ctx = paved::Context::parse_at("2026-06-01")?.assign("images.registries=[\"registry.acme.dev/\"]")?;
    /// assert_eq!(ctx.params["images"]["registries"][0], "registry.acme.dev/");
    /// assert!(ctx.clone().assign("images=3").is_err());
    /// # Ok::<(), paved::Error>(())
    /// ```
    pub fn assign(self, assignment: &str) -> Result<Self, Error> {
        let (key, value) = parse_assignment(assignment)?;
        self.set(&key, value)
    }

    /// As [`Context::read_namespaces`], from the text of one file named `file`.
    pub fn read_namespaces_str(mut self, file: &str, text: &str) -> Result<Self, Error> {
        self.namespaces.extend(crate::engine::resource::namespace_labels_from_str(file, text)?);
        Ok(self)
    }

    /// Sets the parameter overrides of one policy.
    pub fn params(mut self, policy: &str, params: Value) -> Self {
        self.params.insert(policy.to_owned(), params);
        self
    }

    /// Sets the requesting user (`request.userInfo`).
    pub fn user_info(mut self, user_info: Value) -> Self {
        self.user_info = user_info;
        self
    }
}

/// Sets params as `paved check --set` does: `POLICY.PARAM` to a value, or `POLICY` to an
/// object of params, merged over those set before.
pub(super) fn set_param(params: &mut BTreeMap<String, Value>, key: &str, value: Value) -> Result<(), Error> {
    let (policy, new) = match key.split_once('.') {
        Some((policy, param)) if !policy.is_empty() && !param.is_empty() => {
            (policy, Map::from_iter([(param.to_owned(), value)]))
        }
        _ => match value {
            Value::Object(new) if !key.is_empty() => (key, new),
            _ => {
                return Err(Error::Input {
                    reason: format!("`{key}` is not POLICY.PARAM, and its value is not an object of params"),
                })
            }
        },
    };
    let entry = params.entry(policy.to_owned()).or_insert_with(|| Value::Object(Map::new()));
    if let Some(m) = entry.as_object_mut() {
        m.extend(new);
    }
    Ok(())
}

/// `POLICY.PARAM=VALUE` as its key and value: the value is JSON when it parses as JSON, else a
/// string.
pub(super) fn parse_assignment(assignment: &str) -> Result<(String, Value), Error> {
    let invalid = |why: &str| Error::Input { reason: format!("{assignment}: {why}") };
    let (key, value) = assignment.split_once('=').ok_or_else(|| invalid("expected POLICY.PARAM=VALUE"))?;
    if !key.split_once('.').is_some_and(|(policy, param)| !policy.is_empty() && !param.is_empty()) {
        return Err(invalid("expected POLICY.PARAM before `=`"));
    }
    Ok((key.to_owned(), serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()))))
}
