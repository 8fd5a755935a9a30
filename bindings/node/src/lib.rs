//! The native half of the Node package: the engine behind the core's facade. Data crosses as
//! JSON text (V8's `JSON.stringify` and `JSON.parse` are faster than walking objects through
//! N-API); `index.js` gives it its JavaScript face and its errors.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, Buffer};
use napi::{Env, Task};
use napi_derive::napi;
use paved::golden::RenderError;
use paved::{Bundle, Context, Engine as Core, GoldenPath, Operation, Resource};
use serde::Deserialize;
use serde_json::{json, Value};

/// The host process's malloc (glibc's, shared with the interpreter and its garbage collector)
/// spent a third of a check freeing and consolidating the engine's small allocations; mimalloc
/// keeps them thread-local.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A core error as a JavaScript error whose message is JSON (`kind`, `message`,
/// `diagnostics`, and `report` for a denied render), turned into a `PavedError` by `index.js`.
fn error(kind: &str, e: &paved::Error) -> napi::Error {
    let kind = if e.is_golden_path() { "GoldenPathError" } else { kind };
    let diagnostics = e.diagnostics().map(|d| serde_json::to_value(&d.0).unwrap_or_default()).unwrap_or(json!([]));
    raw(json!({"kind": kind, "message": e.to_string(), "diagnostics": diagnostics, "report": null}))
}

/// A failed render: `NonCompliantError` with the report when the golden path's own policies
/// deny the manifests, otherwise as [`input_error`].
fn render_error(e: &RenderError) -> napi::Error {
    match e {
        RenderError::NonCompliant { report, .. } => raw(json!({"kind": "NonCompliantError", "message": e.to_string(),
            "diagnostics": [], "report": serde_json::to_value(report.as_ref()).unwrap_or_default()})),
        RenderError::Invalid(e) => input_error(e),
        other => input(other),
    }
}

fn raw(body: Value) -> napi::Error {
    napi::Error::from_reason(format!("paved:{body}"))
}

fn input(message: impl std::fmt::Display) -> napi::Error {
    raw(json!({"kind": "InputError", "message": message.to_string(), "diagnostics": []}))
}

fn load_error(e: &paved::Error) -> napi::Error {
    error("LoadError", e)
}

fn input_error(e: &paved::Error) -> napi::Error {
    error("InputError", e)
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> napi::Result<T> {
    serde_json::from_str(text).map_err(|e| input(format!("{what}: {e}")))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Options {
    #[serde(default)]
    bundle: Paths,
    #[serde(default)]
    packs: Vec<String>,
    #[serde(default)]
    set: BTreeMap<String, Value>,
    #[serde(default)]
    exceptions: Paths,
    /// Plugin components by name: a path (bytes come through `plugins` of `fromYaml`).
    #[serde(default)]
    plugins: BTreeMap<String, PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(untagged)]
enum Paths {
    #[default]
    None,
    One(PathBuf),
    Many(Vec<PathBuf>),
}

impl Paths {
    fn list(&self) -> Vec<PathBuf> {
        match self {
            Paths::None => Vec::new(),
            Paths::One(p) => vec![p.clone()],
            Paths::Many(p) => p.clone(),
        }
    }
}

/// An engine with the params `set` gives (`{"POLICY.PARAM": value}` or `{"POLICY": {params}}`),
/// built: a param given wrong is an input error (as `set: ...`), anything else a load error.
fn build(builder: paved::EngineBuilder, set: BTreeMap<String, Value>) -> napi::Result<NativeEngine> {
    let engine = set.into_iter().fold(builder, |b, (key, value)| b.set(&key, value)).build().map_err(|e| match e {
        paved::Error::Input { reason } => input(format!("set: {reason}")),
        other => load_error(&other),
    })?;
    Ok(NativeEngine { inner: Arc::new(engine) })
}

/// What a check may know of the world, from JavaScript's options.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CheckOptions {
    now: Option<String>,
    operation: Option<String>,
    #[serde(default)]
    namespaces: BTreeMap<String, BTreeMap<String, String>>,
    user_info: Option<Value>,
    namespace: Option<String>,
    /// Other objects policies may look up (`inventory` in CEL).
    #[serde(default)]
    inventory: Vec<Value>,
    /// `true`, or the namespaces the objects and the inventory hold completely.
    inventory_complete: Option<Value>,
    /// Verdicts on the images `verifyImages` rules ask about: a list, or a recording.
    images: Option<Value>,
}

fn instant(now: Option<&str>) -> napi::Result<jiff::Timestamp> {
    match now {
        None => Ok(jiff::Timestamp::now()),
        Some(text) => paved::parse_instant(text).map_err(|e| input(format!("now: {e}"))),
    }
}

impl CheckOptions {
    fn context(self) -> napi::Result<Context> {
        let operation = match self.operation.as_deref() {
            None => Operation::Create,
            Some(name) => name.parse().map_err(input)?,
        };
        let mut ctx = Context::at(instant(self.now.as_deref())?).operation(operation);
        ctx.namespaces = self.namespaces;
        if let Some(u) = self.user_info {
            ctx.user_info = u;
        }
        if let Some(ns) = self.namespace {
            ctx = ctx.namespace(&ns);
        }
        if let Some(images) = self.images.filter(|i| !i.is_null()) {
            ctx = ctx.images(paved::ImageVerdicts::from_json(images).map_err(|e| input(format!("images: {e}")))?);
        }
        if !self.inventory.is_empty() || self.inventory_complete.is_some() {
            let objects = resources_of_values(self.inventory, "inventory")?;
            let inventory = paved::Inventory::new(&objects);
            let inventory = match self.inventory_complete {
                None | Some(Value::Null | Value::Bool(false)) => inventory,
                Some(Value::Bool(true)) => inventory.complete_all(),
                Some(other) => {
                    let names: Vec<String> = serde_json::from_value(other)
                        .map_err(|_| input("inventoryComplete: true, or an array of namespace names"))?;
                    inventory.complete_namespaces(names)
                }
            };
            ctx = ctx.inventory(inventory);
        }
        Ok(ctx)
    }
}

/// Objects from JSON text: one object or an array of them.
fn resources_of_json(json: &str) -> napi::Result<Vec<Resource>> {
    let values = match parse::<Value>("objects", json)? {
        Value::Array(items) => items,
        one => vec![one],
    };
    resources_of_values(values, "objects")
}

fn resources_of_values(values: Vec<Value>, what: &str) -> napi::Result<Vec<Resource>> {
    let mut out = Vec::with_capacity(values.len());
    for (i, v) in values.into_iter().enumerate() {
        out.append(&mut Resource::all_from_value(v).map_err(|e| input(format!("{what}[{i}]: {e}")))?);
    }
    Ok(out)
}

/// A compiled engine, shared by every call (and every worker thread of `checkAsync`).
#[napi]
pub struct NativeEngine {
    inner: Arc<Core>,
}

#[napi]
impl NativeEngine {
    /// Builds an engine from options JSON: `bundle`, `packs`, `set`, `exceptions`, `plugins`.
    #[napi(constructor)]
    pub fn new(options: String) -> napi::Result<Self> {
        let o: Options = parse("options", &options)?;
        let mut builder = Core::builder();
        let bundles = o.bundle.list();
        if o.packs.is_empty() && bundles.is_empty() {
            builder = builder.bundle(Bundle::defaults().map_err(|e| load_error(&e))?);
        }
        for p in &o.packs {
            builder = builder.bundle(Bundle::pack(p).map_err(|e| load_error(&e))?);
        }
        for b in &bundles {
            builder = builder.bundle(Bundle::from_paths(std::slice::from_ref(b)).map_err(|e| load_error(&e))?);
        }
        for e in &o.exceptions.list() {
            builder =
                builder.bundle(Bundle::exceptions_from_paths(std::slice::from_ref(e)).map_err(|e| load_error(&e))?);
        }
        for (name, path) in &o.plugins {
            let bytes = std::fs::read(path)
                .map_err(|e| input(format!("plugin {name}: cannot read {}: {e}", path.display())))?;
            builder = builder.plugin(name, bytes);
        }
        build(builder, o.set)
    }

    /// An engine from the text of one bundle file; nothing is read from disk (plugins are given
    /// as bytes, by name).
    #[napi(factory)]
    pub fn from_yaml(text: String, file: String, set: String, plugins: Vec<(String, Buffer)>) -> napi::Result<Self> {
        let mut builder = Core::builder().bundle(Bundle::from_str(&file, &text).map_err(|e| load_error(&e))?);
        for (name, bytes) in plugins {
            builder = builder.plugin(&name, bytes.to_vec());
        }
        build(builder, parse("set", &set)?)
    }

    /// Evaluates objects given as JSON (one object or an array), on this thread.
    #[napi]
    pub fn check(&self, objects: String, options: String) -> napi::Result<NativeReport> {
        let ctx = parse::<CheckOptions>("options", &options)?.context()?;
        let resources = resources_of_json(&objects)?;
        Ok(self.report(self.inner.evaluate(&resources, &ctx)))
    }

    /// Evaluates YAML or JSON text (multi-document; findings carry lines), on this thread.
    #[napi]
    pub fn check_text(&self, text: String, file: String, options: String) -> napi::Result<NativeReport> {
        let ctx = parse::<CheckOptions>("options", &options)?.context()?;
        let resources = Resource::from_str(&file, &text).map_err(|e| input_error(&e))?;
        Ok(self.report(self.inner.evaluate(&resources, &ctx)))
    }

    /// Reads and evaluates files and directories (YAML or JSON, walked as `paved check` walks
    /// them; findings carry file and line).
    #[napi]
    pub fn check_paths(&self, paths: Vec<String>, options: String) -> napi::Result<NativeReport> {
        let ctx = parse::<CheckOptions>("options", &options)?.context()?;
        let resources = Resource::from_paths(&paths).map_err(|e| input_error(&e))?;
        Ok(self.report(self.inner.evaluate(&resources, &ctx)))
    }

    /// Mutates objects given as JSON, then validates what the mutations made: the report, with
    /// the objects as the mutations left them (`objects()`).
    #[napi]
    pub fn mutate(&self, objects: String, options: String) -> napi::Result<NativeReport> {
        let ctx = parse::<CheckOptions>("options", &options)?.context()?;
        let resources = resources_of_json(&objects)?;
        let (mutated, report) = self.inner.mutate(&resources, &ctx);
        let values: Vec<&Value> = mutated.iter().map(Resource::value).collect();
        Ok(NativeReport { inner: report, objects: Some(serde_json::to_string(&values).unwrap_or_default()) })
    }

    /// As `check`, on libuv's thread pool: the event loop keeps running.
    #[napi(ts_return_type = "Promise<NativeReport>")]
    pub fn check_async(&self, objects: String, options: String) -> AsyncTask<CheckTask> {
        AsyncTask::new(CheckTask { engine: Arc::clone(&self.inner), objects, options })
    }

    /// Answers an AdmissionReview (JSON) with the AdmissionReview response (JSON).
    #[napi]
    pub fn admit(&self, review: String, now: Option<String>) -> napi::Result<String> {
        let review: Value = parse("review", &review)?;
        let ctx = Context::at(instant(now.as_deref())?);
        match self.inner.admit(review, &ctx) {
            Ok(answer) => Ok(answer.to_string()),
            Err(e) => match e.denial() {
                Some(denial) => Ok(denial.to_string()),
                None => Err(input(e.to_string())),
            },
        }
    }

    /// The images of `objects` (JSON) that `verifyImages` rules ask to be verified (JSON).
    #[napi]
    pub fn image_requests(&self, objects: String) -> napi::Result<String> {
        let resources = resources_of_json(&objects)?;
        Ok(serde_json::to_string(&self.inner.image_requests(&resources)).unwrap_or_default())
    }

    /// What each policy is and checks (JSON).
    #[napi]
    pub fn policies(&self) -> String {
        serde_json::to_string(&self.inner.policies()).unwrap_or_default()
    }

    /// Every exception and its standing at `now` (JSON).
    #[napi]
    pub fn exceptions(&self, now: Option<String>) -> napi::Result<String> {
        Ok(serde_json::to_string(&self.inner.exceptions(instant(now.as_deref())?)).unwrap_or_default())
    }

    fn report(&self, report: paved::Report) -> NativeReport {
        NativeReport { inner: report, objects: None }
    }
}

/// `checkAsync`'s work, run off the main thread.
pub struct CheckTask {
    engine: Arc<Core>,
    objects: String,
    options: String,
}

impl Task for CheckTask {
    type Output = paved::Report;
    type JsValue = NativeReport;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let ctx = parse::<CheckOptions>("options", &self.options)?.context()?;
        let resources = resources_of_json(&self.objects)?;
        Ok(self.engine.evaluate(&resources, &ctx))
    }

    fn resolve(&mut self, _: Env, report: Self::Output) -> napi::Result<Self::JsValue> {
        Ok(NativeReport { inner: report, objects: None })
    }
}

/// One evaluation's report, held natively so it can be written in any format.
#[napi]
pub struct NativeReport {
    inner: paved::Report,
    /// For `mutate`: the objects the mutations left, as JSON.
    objects: Option<String>,
}

#[napi]
impl NativeReport {
    /// The report contract, compact JSON.
    #[napi]
    pub fn json(&self) -> String {
        self.inner.to_json_compact()
    }

    /// For `mutate`: the objects as the mutations left them (a JSON array); `null` otherwise.
    #[napi]
    pub fn objects(&self) -> Option<String> {
        self.objects.clone()
    }

    /// `allow`, `warn` or `deny`.
    #[napi(getter)]
    pub fn decision(&self) -> &'static str {
        self.inner.decision.as_str()
    }

    /// The report as `sarif`, `junit`, `github`, `policy-report`, `code-quality` or `json`.
    #[napi]
    pub fn format(&self, name: String) -> napi::Result<String> {
        let format: paved::Format = name.parse().map_err(|e| input_error(&e))?;
        Ok(self.inner.format(format))
    }
}

fn bundle_of(bundle: Option<String>) -> napi::Result<Bundle> {
    // The built-in golden paths, with the bundle's merged over them (as the CLI does).
    let builtin = Bundle::golden_paths_builtin().map_err(|e| load_error(&e))?;
    match bundle {
        Some(b) => Bundle::from_paths(&[PathBuf::from(b)]).map(|b| builtin.merge(b)).map_err(|e| load_error(&e)),
        None => Ok(builtin),
    }
}

/// Renders a golden path (`NAME`, `NAME@RANGE`): the manifests, as a JSON array.
#[napi]
pub fn render(golden_path: String, inputs: String, bundle: Option<String>) -> napi::Result<String> {
    let inputs: Value = parse("inputs", &inputs)?;
    let bundle = bundle_of(bundle)?;
    let rendered = bundle
        .golden_path(&golden_path)
        .map_err(RenderError::from)
        .and_then(|p| p.render(&inputs, &bundle))
        .map_err(|e| render_error(&e))?;
    Ok(Value::Array(rendered.manifests).to_string())
}

/// Conformance of live objects (JSON) to the golden paths they were rendered from (JSON).
#[napi]
pub fn conform(objects: String, bundle: Option<String>, now: Option<String>) -> napi::Result<String> {
    let resources = resources_of_json(&objects)?;
    let (bundle, ctx) = (bundle_of(bundle)?, Context::at(instant(now.as_deref())?));
    Ok(serde_json::to_string(&GoldenPath::conform(&bundle, &resources, &ctx)).unwrap_or_default())
}

/// A service's inputs moved from `from` (`NAME@VERSION`) to the highest version `to` allows.
#[napi]
pub fn upgrade(from: String, inputs: String, to: String, bundle: Option<String>) -> napi::Result<String> {
    let inputs: Value = parse("inputs", &inputs)?;
    let bundle = bundle_of(bundle)?;
    let u = GoldenPath::upgrade(&bundle, &from, &inputs, &to).map_err(|e| input_error(&e))?;
    Ok(serde_json::to_string(&u).unwrap_or_default())
}

/// The three-way upgrade of every service whose manifests are in `paths` to the highest
/// version `to` allows (JSON: `plan`, the fleet upgrade, and `written`, the files rewritten);
/// with `write`, the clean services' files are rewritten in place, comments and key order kept.
#[napi]
pub fn upgrade_paths(
    paths: Vec<String>,
    to: String,
    prefer: Option<String>,
    bundle: Option<String>,
    write: bool,
) -> napi::Result<String> {
    let prefer = prefer
        .map(|p| {
            p.parse::<paved::golden::Prefer>().map_err(|e| input_error(&paved::Error::Input { reason: e.to_string() }))
        })
        .transpose()?;
    let bundle = bundle_of(bundle)?;
    let resources = Resource::from_paths(&paths).map_err(|e| input_error(&e))?;
    let plan = GoldenPath::upgrade_all(&bundle, &resources, &to, prefer);
    let mut written = Vec::new();
    if write {
        let clean = plan.services.iter().filter_map(|s| match s {
            paved::golden::Planned::Upgrade(u) if u.clean() => Some(&**u),
            _ => None,
        });
        let io = |path: &str, source| paved::Error::Io { path: PathBuf::from(path), source };
        let rewrites = paved::golden::rewrite_upgrades(clean, &|f| std::fs::read_to_string(f).map_err(|e| io(f, e)))
            .map_err(|e| input_error(&e))?;
        for (file, text, rewrite) in rewrites {
            if rewrite.text != text {
                std::fs::write(&file, &rewrite.text).map_err(|e| input_error(&io(&file, e)))?;
                written.push(file);
            }
        }
    }
    Ok(json!({"plan": plan, "written": written}).to_string())
}

/// Backstage catalog entities for the services in `objects` (JSON): one `Component` each.
#[napi]
pub fn catalog(objects: String, bundle: Option<String>, now: Option<String>) -> napi::Result<String> {
    let resources = resources_of_json(&objects)?;
    let (bundle, ctx) = (bundle_of(bundle)?, Context::at(instant(now.as_deref())?));
    Ok(Value::Array(GoldenPath::catalog(&bundle, &resources, &ctx)).to_string())
}

/// Which golden path version every service is on, and how far behind (JSON).
#[napi]
pub fn outdated(objects: String, bundle: Option<String>, now: Option<String>) -> napi::Result<String> {
    let resources = resources_of_json(&objects)?;
    let (bundle, now) = (bundle_of(bundle)?, instant(now.as_deref())?);
    Ok(serde_json::to_string(&GoldenPath::outdated(&bundle, &resources, now)).unwrap_or_default())
}

/// A golden path's inputs JSON Schema (JSON), for forms such as Backstage's.
#[napi]
pub fn inputs_schema(golden_path: String, bundle: Option<String>) -> napi::Result<String> {
    let bundle = bundle_of(bundle)?;
    let path = bundle.golden_path(&golden_path).map_err(|e| input_error(&e))?;
    Ok(json!({"goldenPath": path.id(), "schema": path.inputs_schema()}).to_string())
}

/// A JSON value as YAML, as `paved render` writes manifests.
#[napi]
pub fn to_yaml(json: String) -> napi::Result<String> {
    Ok(paved::to_yaml(&parse::<Value>("value", &json)?))
}

/// The built-in packs (JSON): name, description, and whether they run by default.
#[napi]
pub fn packs() -> String {
    let packs: Vec<Value> =
        Bundle::packs().map(|p| json!({"name": p.name, "description": p.description, "default": p.default})).collect();
    Value::Array(packs).to_string()
}
