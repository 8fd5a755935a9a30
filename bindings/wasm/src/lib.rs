//! paved as a WebAssembly component: the `paved:engine` world (`wit/engine/engine.wit`) over
//! the core's facade, for wasmtime, `jco` and the browser playground. It reads nothing but its
//! arguments; the built-in packs and golden paths are compiled in.
#![cfg(target_arch = "wasm32")]
// The component ABI glue that `wit_bindgen::generate!` writes is unsafe; nothing else here is.
#![allow(unsafe_code)]

use paved::golden::RenderError;
use paved::{Bundle, Context, Engine, Error, Resource};
use serde_json::Value;

mod bindings {
    #![allow(missing_docs)]
    wit_bindgen::generate!({ path: "../../wit/engine", world: "engine" });
}

use bindings::exports::paved::engine::api as wit;

struct Component;

bindings::export!(Component with_types_in bindings);

/// A core error as the WIT `error`: `kind` names what failed.
fn error(kind: &str, e: &Error) -> wit::Error {
    let kind = if e.is_golden_path() { "golden-path" } else { kind };
    let diagnostics = e
        .diagnostics()
        .map(|d| {
            d.0.iter()
                .map(|d| wit::Diagnostic {
                    file: d.file.to_string(),
                    line: d.line,
                    column: d.column,
                    pointer: d.pointer.clone(),
                    message: d.message.clone(),
                    help: d.help.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    wit::Error { kind: kind.to_owned(), message: e.to_string(), diagnostics, report: None }
}

/// A failed render: `non-compliant` with the report when the golden path's own policies deny
/// the manifests, otherwise as [`input`].
fn render_error(e: RenderError) -> wit::Error {
    match e {
        RenderError::NonCompliant { ref report, .. } => wit::Error {
            kind: "non-compliant".to_owned(),
            message: e.to_string(),
            diagnostics: Vec::new(),
            report: Some(report.to_json_compact()),
        },
        RenderError::Invalid(e) => input(e),
        other => reason(other.to_string()),
    }
}

fn load(e: Error) -> wit::Error {
    error("load", &e)
}

fn input(e: Error) -> wit::Error {
    error("input", &e)
}

fn reason(message: String) -> wit::Error {
    input(Error::Input { reason: message })
}

/// Every document of `docs` through `read`, all problems of all of them together.
fn read_all<T>(docs: &[wit::Document], read: impl Fn(&str, &str) -> Result<Vec<T>, Error>) -> Result<Vec<T>, Error> {
    let mut out = Vec::new();
    let mut problems = paved::Diagnostics::default();
    for d in docs {
        match read(&d.name, &d.text) {
            Ok(mut items) => out.append(&mut items),
            Err(Error::Invalid(found)) => problems.0.extend(found.0),
            Err(e) => return Err(e),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(Error::Invalid(problems))
    }
}

/// The engine `paved check` builds from the same flags: the default packs when no pack and no
/// bundle is named, then the packs, the bundle files and the exception files. Its params are
/// checked against its policies.
fn engine(o: &wit::EngineOptions) -> Result<Checker, wit::Error> {
    let mut builder = Engine::builder();
    if o.packs.is_empty() && o.bundle.is_empty() {
        builder = builder.bundle(Bundle::defaults().map_err(load)?);
    }
    for name in &o.packs {
        builder = builder.bundle(Bundle::pack(name).map_err(load)?);
    }
    for d in &o.bundle {
        builder = builder.bundle(Bundle::from_str(&d.name, &d.text).map_err(load)?);
    }
    for d in &o.exceptions {
        builder = builder.bundle(Bundle::exceptions_from_str(&d.name, &d.text).map_err(load)?);
    }
    for set in &o.set {
        builder = builder.assign(set);
    }
    // Only a param can make the build an input error or name an unknown policy.
    let engine = builder.build().map_err(|e| match e {
        Error::Input { .. } | Error::Unknown { .. } => reason(format!("set {e}")),
        other => load(other),
    })?;
    Ok(Checker { engine })
}

/// A compiled engine, its params given once.
struct Checker {
    engine: Engine,
}

impl Checker {
    /// The context `paved check` builds from the same flags.
    fn context(&self, c: &wit::Context) -> Result<Context, wit::Error> {
        let mut ctx = match &c.now {
            Some(now) => Context::parse_at(now).map_err(input)?,
            None => Context::at(jiff::Timestamp::now()),
        };
        if let Some(op) = &c.operation {
            ctx = ctx.operation(op.parse().map_err(reason)?);
        }
        if let Some(ns) = &c.namespace {
            ctx = ctx.namespace(ns);
        }
        for d in &c.namespace_labels {
            ctx = ctx.read_namespaces_str(&d.name, &d.text).map_err(input)?;
        }
        Ok(ctx)
    }
}

impl wit::GuestEngine for Checker {
    fn create(options: wit::EngineOptions) -> Result<wit::Engine, wit::Error> {
        engine(&options).map(wit::Engine::new)
    }

    fn check(
        &self,
        resources: Vec<wit::Document>,
        context: wit::Context,
        format: String,
    ) -> Result<wit::Checked, wit::Error> {
        let format: paved::Format = format.parse().map_err(input)?;
        let ctx = self.context(&context)?;
        let documents = resources;
        let resources = read_all(&documents, Resource::from_str).map_err(input)?;
        let mut report = self.engine.evaluate(&resources, &ctx);
        // Only the formats that carry fixes pay for them, as in `paved check`.
        if matches!(format, paved::Format::Json | paved::Format::Sarif) {
            with_fixes(&mut report, &resources, &documents)?;
        }
        let output = report.format(format);
        Ok(wit::Checked { decision: report.decision.as_str().to_owned(), output })
    }

    fn mutate(&self, resources: Vec<wit::Document>, context: wit::Context) -> Result<wit::Mutated, wit::Error> {
        let ctx = self.context(&context)?;
        let documents = resources;
        let resources = read_all(&documents, Resource::from_str).map_err(input)?;
        let (mutated, mut report) = self.engine.mutate(&resources, &ctx);
        with_fixes(&mut report, &resources, &documents)?;
        let manifests: Vec<String> = mutated.iter().map(|r| paved::to_yaml(r.value())).collect();
        Ok(wit::Mutated {
            decision: report.decision.as_str().to_owned(),
            manifests: manifests.join("---\n"),
            report: report.to_json_compact(),
        })
    }

    fn policies(&self) -> String {
        serde_json::to_string(&self.engine.policies()).unwrap_or_default()
    }
}

/// The report's fixes: what its mutations change in the documents given, as `paved check`
/// says of files.
fn with_fixes(
    report: &mut paved::Report,
    resources: &[Resource],
    documents: &[wit::Document],
) -> Result<(), wit::Error> {
    if report.patches.is_empty() {
        return Ok(());
    }
    let text = |name: &str| {
        let found = documents.iter().find(|d| d.name == name).map(|d| d.text.clone());
        found.ok_or_else(|| paved::Error::Input { reason: format!("no document named {name}") })
    };
    report.fixes = paved::golden::fixes(report, resources, &text).map_err(input)?;
    Ok(())
}

/// The built-in golden paths with the bundle's over them, as `paved render` loads them.
fn golden_paths(bundle: &[wit::Document]) -> Result<Bundle, wit::Error> {
    let mut all = Bundle::golden_paths_builtin().map_err(load)?;
    for d in bundle {
        all = all.merge(Bundle::from_str(&d.name, &d.text).map_err(load)?);
    }
    Ok(all)
}

impl wit::Guest for Component {
    type Engine = Checker;

    fn check(
        options: wit::EngineOptions,
        resources: Vec<wit::Document>,
        context: wit::Context,
        format: String,
    ) -> Result<wit::Checked, wit::Error> {
        use wit::GuestEngine;
        engine(&options)?.check(resources, context, format)
    }

    fn render(
        golden_path: String,
        inputs: wit::Document,
        bundle: Vec<wit::Document>,
    ) -> Result<wit::Rendered, wit::Error> {
        let all = golden_paths(&bundle)?;
        let path = all.golden_path(&golden_path).map_err(input)?;
        let rendered = path.render_text(&inputs.name, &inputs.text, &all).map_err(render_error)?;
        let docs: Vec<String> = rendered.manifests.iter().map(paved::to_yaml).collect();
        Ok(wit::Rendered {
            manifests: format!("# Rendered by paved from {}\n---\n{}", rendered.golden_path, docs.join("---\n")),
            report: rendered.report.to_json_compact(),
            golden_path: rendered.golden_path,
        })
    }

    fn explain(query: String, bundle: Vec<wit::Document>) -> Result<String, wit::Error> {
        let mut all = Bundle::default();
        for pack in Bundle::packs() {
            all = all.merge(Bundle::pack(pack.name).map_err(load)?);
        }
        for d in &bundle {
            all = all.merge(Bundle::from_str(&d.name, &d.text).map_err(load)?);
        }
        let found = all.lookup(&query).map_err(input)?;
        let found: Vec<Value> =
            found.into_iter().map(|(policy, rules)| serde_json::json!({"policy": policy, "rules": rules})).collect();
        Ok(Value::Array(found).to_string())
    }

    fn packs() -> Vec<wit::Pack> {
        Bundle::packs()
            .map(|p| wit::Pack { name: p.name.to_owned(), description: p.description.to_owned(), default: p.default })
            .collect()
    }

    fn golden_paths() -> String {
        let Ok(all) = Bundle::golden_paths_builtin() else { return "[]".to_owned() };
        let paths: Vec<Value> = all
            .golden_paths()
            .map(|p| {
                serde_json::json!({
                    "name": p.name(),
                    "version": p.version().to_string(),
                    "description": p.description(),
                    "inputsSchema": p.inputs_schema(),
                    "deprecated": p.deprecation().is_some(),
                })
            })
            .collect();
        Value::Array(paths).to_string()
    }
}
