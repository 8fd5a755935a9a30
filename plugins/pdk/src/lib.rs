//! Write paved policy plugins in Rust.
//!
//! A plugin is a type that implements [`Plugin`]: it describes itself ([`Metadata`]) and checks
//! one resource at a time ([`Plugin::check`]), returning [`Finding`]s. [`export_plugin!`] turns it
//! into a WebAssembly component that speaks paved's plugin contract (`wit/plugin.wit`,
//! `paved:plugin/checker@0.1.0`); the generated bindings stay out of sight.
//!
//! ```
//! use paved_pdk::{export_plugin, Error, Finding, Input, Metadata, Plugin};
//!
//! struct NoDefaultNamespace;
//!
//! impl Plugin for NoDefaultNamespace {
//!     fn metadata() -> Metadata {
//!         Metadata::new("no-default-namespace", "1.0.0", "Keeps workloads out of `default`.")
//!             .rule("namespace-required", "Objects name a namespace other than `default`.")
//!     }
//!
//!     fn check(input: &Input) -> Result<Vec<Finding>, Error> {
//!         let object = input.object()?;
//!         let mut findings = Vec::new();
//!         if matches!(object.metadata.namespace.as_deref(), None | Some("default")) {
//!             findings.push(Finding::new(
//!                 "namespace-required",
//!                 "/metadata/namespace",
//!                 format!("{} {} is in the default namespace; give it its team's namespace",
//!                     object.kind, object.metadata.name),
//!             ));
//!         }
//!         Ok(findings)
//!     }
//! }
//!
//! export_plugin!(NoDefaultNamespace);
//! # fn main() {
//! #     let input = Input::new(r#"{"kind":"Pod","metadata":{"name":"web"}}"#, "{}", "{}");
//! #     let found = NoDefaultNamespace::check(&input).unwrap();
//! #     assert_eq!(found[0].path, "/metadata/namespace");
//! # }
//! ```
//!
//! Build it as a component with `cargo build --release --target wasm32-wasip2`, pin its sha256 in
//! a paved `Bundle`, and use it from a policy rule with `plugin: NAME` and `params`.
//!
//! Plugins run in a sandbox: no files, no environment, no network; the clock reads the instant
//! of the evaluation and randomness comes from a fixed seed, so a plugin's answer depends only on
//! its input. Work is metered by fuel, memory is capped, and each call gets a fresh instance:
//! nothing a plugin stores survives to the next resource.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::Deserialize;
pub use serde_json::{json, Value};

pub mod k8s;
pub use k8s::{Container, Object, ObjectMeta, Quantity};

extern crate self as paved_pdk;

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "plugin",
        pub_export_macro: true,
        export_macro_name: "__export_bindings",
        default_bindings_module: "paved_pdk::bindings",
        runtime_path: "paved_pdk::__wit_bindgen::rt",
    });
}

use bindings::exports::paved::plugin::checker as wit;

/// A paved plugin: what it is, and how it checks one resource.
pub trait Plugin {
    /// What the plugin is; paved reads it once, when it loads the plugin.
    fn metadata() -> Metadata;

    /// The findings for one resource (none: it passes), or why it cannot be checked.
    fn check(input: &Input) -> Result<Vec<Finding>, Error>;
}

/// What a plugin is: its name, version, rules and the JSON Schema of its params.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    /// Name of the plugin.
    pub name: String,
    /// Semantic version of the plugin.
    pub version: String,
    /// What it is for.
    pub description: String,
    /// `(id, description)` of every rule it reports.
    pub rules: Vec<(String, String)>,
    /// JSON Schema of the params; `{}` accepts anything.
    pub params_schema: Value,
}

impl Metadata {
    /// A plugin with no rules yet and params that accept anything.
    pub fn new(name: &str, version: &str, description: &str) -> Self {
        Metadata {
            name: name.into(),
            version: version.into(),
            description: description.into(),
            rules: Vec::new(),
            params_schema: json!({}),
        }
    }

    /// Adds a rule the plugin reports.
    pub fn rule(mut self, id: &str, description: &str) -> Self {
        self.rules.push((id.into(), description.into()));
        self
    }

    /// Sets the JSON Schema (2020-12) the policy's params must satisfy.
    pub fn params_schema(mut self, schema: Value) -> Self {
        self.params_schema = schema;
        self
    }
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Informational.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

/// One way in which a resource breaks a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The rule's id, one of those in [`Metadata::rules`].
    pub rule: String,
    /// What is wrong and what would be right.
    pub message: String,
    /// JSON pointer into the checked resource (`""`: the whole resource).
    pub path: String,
    /// Overrides the severity the policy gives the rule.
    pub severity: Option<Severity>,
}

impl Finding {
    /// A finding of `rule` at `path` (a JSON pointer) saying `message`.
    pub fn new(rule: &str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Finding { rule: rule.into(), message: message.into(), path: path.into(), severity: None }
    }

    /// The same finding with its own severity.
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = Some(severity);
        self
    }
}

/// Why a check could not be done. paved applies the policy's failure policy to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The params are not what the plugin needs.
    InvalidParams(String),
    /// The resource is not what the plugin expects.
    InvalidResource(String),
    /// Anything else.
    Failed(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidParams(m) => write!(f, "invalid params: {m}"),
            Error::InvalidResource(m) => write!(f, "invalid resource: {m}"),
            Error::Failed(m) => f.write_str(m),
        }
    }
}

/// What the evaluation is about, beyond the resource.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Context {
    /// `CREATE`, `UPDATE`, `DELETE` or `CONNECT`.
    pub operation: String,
    /// The evaluation's instant (RFC 3339); also what the sandbox's clock reads.
    pub now: String,
    /// The resource's namespace and its labels.
    pub namespace: Namespace,
    /// The requesting user, when known.
    pub user_info: Option<Value>,
    /// Name of the policy whose rule runs the plugin.
    pub policy: String,
    /// Id of that rule.
    pub rule: String,
}

/// A namespace, as the evaluation knows it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Namespace {
    /// Its name (empty for cluster-scoped resources).
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
}

/// One call of a plugin: the resource, the params and the context, as JSON text. Parse only
/// what you need: [`Input::object`] reads the parts of a Kubernetes object most checks use
/// without building a tree of the rest; [`Input::resource`] parses into any serde type.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    resource: &'a str,
    params: &'a str,
    context: &'a str,
}

impl<'a> Input<'a> {
    /// An input from JSON texts (what paved passes; also handy in unit tests).
    pub fn new(resource: &'a str, params: &'a str, context: &'a str) -> Self {
        Input { resource, params, context }
    }

    /// The resource as a typed Kubernetes object: metadata, replicas and containers.
    pub fn object(&self) -> Result<Object, Error> {
        self.resource()
    }

    /// The resource parsed into `T` (`serde_json::Value` for all of it).
    pub fn resource<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_str(self.resource).map_err(|e| Error::InvalidResource(e.to_string()))
    }

    /// The params parsed into `T`; an error names what is wrong with them.
    pub fn params<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_str(self.params).map_err(|e| Error::InvalidParams(e.to_string()))
    }

    /// The evaluation's context.
    pub fn context(&self) -> Result<Context, Error> {
        serde_json::from_str(self.context).map_err(|e| Error::Failed(format!("unreadable context: {e}")))
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters and `?` for one
/// character, as the paved host matches names (tested on the same table, `wit/testdata/globs.json`).
pub fn glob(pattern: &str, text: &str) -> bool {
    let mut p = pattern.chars();
    match p.next() {
        None => text.is_empty(),
        Some('*') => {
            let rest = p.as_str();
            let mut tail = text;
            loop {
                if glob(rest, tail) {
                    return true;
                }
                let mut chars = tail.chars();
                if chars.next().is_none() {
                    return false;
                }
                tail = chars.as_str();
            }
        }
        Some(c) => {
            let mut t = text.chars();
            match t.next() {
                Some(d) if c == '?' || c == d => glob(p.as_str(), t.as_str()),
                _ => false,
            }
        }
    }
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min()
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.last().copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

#[doc(hidden)]
pub fn __metadata<P: Plugin>() -> wit::PluginMetadata {
    let m = P::metadata();
    wit::PluginMetadata {
        name: m.name,
        version: m.version,
        description: m.description,
        rules: m.rules.into_iter().map(|(id, description)| wit::RuleInfo { id, description }).collect(),
        params_schema: m.params_schema.to_string(),
    }
}

#[doc(hidden)]
pub fn __check<P: Plugin>(resource: &str, params: &str, context: &str) -> Result<Vec<wit::Finding>, wit::Error> {
    match P::check(&Input::new(resource, params, context)) {
        Ok(findings) => Ok(findings
            .into_iter()
            .map(|f| wit::Finding {
                rule: f.rule,
                message: f.message,
                path: f.path,
                severity: f.severity.map(|s| match s {
                    Severity::Info => wit::Severity::Info,
                    Severity::Low => wit::Severity::Low,
                    Severity::Medium => wit::Severity::Medium,
                    Severity::High => wit::Severity::High,
                    Severity::Critical => wit::Severity::Critical,
                }),
            })
            .collect()),
        Err(Error::InvalidParams(m)) => Err(wit::Error::InvalidParams(m)),
        Err(Error::InvalidResource(m)) => Err(wit::Error::InvalidResource(m)),
        Err(Error::Failed(m)) => Err(wit::Error::Failed(m)),
    }
}

/// Exports a [`Plugin`] as the component paved loads. Use it once per plugin crate (a `cdylib`).
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        #[doc(hidden)]
        pub struct __PavedPluginExport;

        impl $crate::bindings::exports::paved::plugin::checker::Guest for __PavedPluginExport {
            fn metadata() -> $crate::bindings::exports::paved::plugin::checker::PluginMetadata {
                $crate::__metadata::<$plugin>()
            }

            fn check(
                resource: ::std::string::String,
                params: ::std::string::String,
                context: ::std::string::String,
            ) -> ::std::result::Result<
                ::std::vec::Vec<$crate::bindings::exports::paved::plugin::checker::Finding>,
                $crate::bindings::exports::paved::plugin::checker::Error,
            > {
                $crate::__check::<$plugin>(&resource, &params, &context)
            }
        }

        $crate::bindings::__export_bindings!(__PavedPluginExport with_types_in $crate::bindings);
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_follow_the_shared_table() {
        // The table the paved host is tested on too (`core/src/k8s.rs`).
        let cases: Vec<(String, String, bool)> =
            serde_json::from_str(include_str!("../../../wit/testdata/globs.json")).unwrap();
        for (pattern, text, want) in cases {
            assert_eq!(glob(&pattern, &text), want, "{pattern} ~ {text}");
        }
    }

    #[test]
    fn globs() {
        assert!(glob("prod-*", "prod-eu"));
        assert!(glob("*.acme.io", "registry.acme.io"));
        assert!(glob("a*c*e", "abcde"));
        assert!(!glob("prod-*", "staging"));
        assert!(glob("exact", "exact"));
    }

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("paymnets", ["payments", "search"]), Some("payments"));
        assert_eq!(did_you_mean("zzz", ["payments"]), None);
    }
}
