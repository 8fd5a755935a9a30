//! `paved._paved`, the native half of the Python package: the engine behind the core's facade,
//! with Python objects in and out. `python/paved/__init__.py` gives it its Pythonic face.

use std::path::PathBuf;
use std::sync::Arc;

use paved::golden::RenderError;
use paved::{Bundle, Context, Engine as Core, GoldenPath, Operation, Resource};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple};
use pythonize::{depythonize, pythonize};
use serde_json::Value;

/// The host process's malloc (glibc's, shared with the interpreter and its garbage collector)
/// spent a third of a check freeing and consolidating the engine's small allocations; mimalloc
/// keeps them thread-local.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pyo3::create_exception!(_paved, PavedError, PyException, "Any error paved raises.");
pyo3::create_exception!(_paved, LoadError, PavedError, "A bundle, pack or plugin that does not load.");
pyo3::create_exception!(_paved, InputError, PavedError, "Resources, a review or arguments that paved cannot use.");
pyo3::create_exception!(_paved, GoldenPathError, PavedError, "A golden path that cannot be used as asked.");
pyo3::create_exception!(
    _paved,
    NonCompliantError,
    GoldenPathError,
    "A render that the golden path's own policies deny."
);

/// The Python exception for a core error, with its diagnostics as a list of dicts (file, line,
/// column, pointer, message, help) and, for a denied render, the report as a dict.
fn raise(py: Python<'_>, kind: fn(String) -> PyErr, e: &paved::Error) -> PyErr {
    let kind: fn(String) -> PyErr = if e.is_golden_path() { GoldenPathError::new_err } else { kind };
    let err = kind(e.to_string());
    let diagnostics: Vec<Diagnostic> = e
        .diagnostics()
        .map(|d| {
            d.0.iter()
                .map(|d| Diagnostic {
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
    let value = err.value(py);
    let _ = value.setattr("diagnostics", diagnostics);
    let _ = value.setattr("report", py.None());
    err
}

/// A failed render: `NonCompliantError` with the report as a dict when the golden path's own
/// policies deny the manifests, otherwise as [`input_error`].
fn render_error(py: Python<'_>, e: &RenderError) -> PyErr {
    match e {
        RenderError::NonCompliant { report, .. } => {
            let err = NonCompliantError::new_err(e.to_string());
            let value = err.value(py);
            let _ = value.setattr("diagnostics", Vec::<Diagnostic>::new());
            let _ = pythonize(py, report.as_ref()).and_then(|r| Ok(value.setattr("report", r)?));
            err
        }
        RenderError::Invalid(e) => input_error(py, e),
        other => input(other),
    }
}

/// One problem in a file: where it is, what is wrong, and how to fix it.
#[pyclass(frozen, get_all, module = "paved._paved")]
struct Diagnostic {
    file: String,
    line: u32,
    column: u32,
    pointer: Option<String>,
    message: String,
    help: Option<String>,
}

#[pymethods]
impl Diagnostic {
    fn __str__(&self) -> String {
        let help = self.help.as_ref().map(|h| format!("\n  help: {h}")).unwrap_or_default();
        format!("{}:{}:{}: {}{help}", self.file, self.line, self.column, self.message)
    }

    fn __repr__(&self) -> String {
        format!(
            "Diagnostic(file={:?}, line={}, column={}, message={:?})",
            self.file, self.line, self.column, self.message
        )
    }
}

fn load_error(py: Python<'_>, e: &paved::Error) -> PyErr {
    raise(py, LoadError::new_err, e)
}

fn input_error(py: Python<'_>, e: &paved::Error) -> PyErr {
    raise(py, InputError::new_err, e)
}

fn input(message: impl std::fmt::Display) -> PyErr {
    InputError::new_err(message.to_string())
}

/// A Python value as JSON: dicts with string keys, lists and tuples, strings, numbers, booleans
/// and None, walked directly (faster than going through serde for every object checked).
fn json_of(value: &Bound<'_, PyAny>) -> PyResult<Value> {
    json_at(value, 0)
}

/// The UTF-8 text of a Python string, borrowed from the string's own UTF-8 buffer (kept by
/// CPython for the life of the string), so converting an object allocates once per string.
///
/// `PyUnicode_AsUTF8AndSize` is in the limited API only from 3.10, but every CPython 3 exports
/// it, so the abi3 wheel for 3.9 calls it too.
#[allow(unsafe_code)]
fn text_of<'a>(s: &'a Bound<'_, PyString>) -> PyResult<&'a str> {
    unsafe extern "C" {
        fn PyUnicode_AsUTF8AndSize(
            unicode: *mut pyo3::ffi::PyObject,
            size: *mut pyo3::ffi::Py_ssize_t,
        ) -> *const std::ffi::c_char;
    }
    let mut size: pyo3::ffi::Py_ssize_t = 0;
    // SAFETY: `s` is a live str (the GIL is held: we have a `Bound`); the returned buffer belongs
    // to it and lives as long as it, which the borrow of `s` bounds. A null return sets an error.
    let data = unsafe { PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut size) };
    if data.is_null() {
        return Err(PyErr::fetch(s.py()));
    }
    let len = usize::try_from(size).map_err(|_| input("a string of negative length"))?;
    // SAFETY: CPython guarantees `len` bytes of valid UTF-8 at `data`.
    let bytes = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) };
    std::str::from_utf8(bytes).map_err(|e| input(e.to_string()))
}

/// Deeper than any Kubernetes object; a cycle (a dict that holds itself) stops here.
const MAX_DEPTH: usize = 256;

fn json_at(value: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(input(format!("the data is nested more than {MAX_DEPTH} deep (does a dict hold itself?)")));
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(Value::String(text_of(s)?.to_owned()));
    }
    if let Ok(d) = value.cast::<PyDict>() {
        let mut map = serde_json::Map::with_capacity(d.len());
        for (k, v) in d.iter() {
            let key = k.cast::<PyString>().map_err(|_| input(format!("a dict key is not a string: {k}")))?;
            map.insert(text_of(key)?.to_owned(), json_at(&v, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(l) = value.cast::<PyList>() {
        return l.iter().map(|v| json_at(&v, depth + 1)).collect::<PyResult<_>>().map(Value::Array);
    }
    if value.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if value.is_instance_of::<PyInt>() {
        if let Ok(i) = value.extract::<i64>() {
            return Ok(Value::from(i));
        }
        return value
            .extract::<u64>()
            .map(Value::from)
            .map_err(|_| input(format!("the integer {value} does not fit in 64 bits")));
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        return serde_json::Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| input(format!("{f} is not a JSON number")));
    }
    if let Ok(t) = value.cast::<PyTuple>() {
        return t.iter().map(|v| json_at(&v, depth + 1)).collect::<PyResult<_>>().map(Value::Array);
    }
    if let Ok(m) = value.cast::<PyMapping>() {
        // Another mapping (a MappingProxy, an OrderedDict subclass...): as a dict.
        let d = PyDict::new(value.py());
        d.update(m)?;
        return json_at(d.as_any(), depth);
    }
    Err(input(format!(
        "a {} is not JSON-like data (dicts, lists, strings, numbers, booleans, None)",
        value.get_type().name()?
    )))
}

fn to_python<'py>(py: Python<'py>, value: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    pythonize(py, value).map_err(|e| PavedError::new_err(e.to_string()))
}

/// Objects as `Resource`s: a dict, a list of dicts, or YAML/JSON text (multi-document).
fn resources(py: Python<'_>, objects: &Bound<'_, PyAny>) -> PyResult<Vec<Resource>> {
    if let Ok(text) = objects.cast::<PyString>() {
        let text: String = text.extract()?;
        return py.detach(|| Resource::from_str("<input>", &text)).map_err(|e| input_error(py, &e));
    }
    let values: Vec<Value> = if objects.is_instance_of::<PyDict>() {
        vec![json_of(objects)?]
    } else {
        objects.try_iter()?.map(|o| json_of(&o?)).collect::<PyResult<_>>()?
    };
    py.detach(|| {
        let mut out = Vec::with_capacity(values.len());
        for (i, v) in values.into_iter().enumerate() {
            out.append(&mut Resource::all_from_value(v).map_err(|e| (i, e))?);
        }
        Ok(out)
    })
    .map_err(|(i, e): (usize, paved::Error)| input(format!("objects[{i}]: {e}")))
}

fn instant(now: Option<&Bound<'_, PyAny>>) -> PyResult<jiff::Timestamp> {
    let Some(now) = now.filter(|n| !n.is_none()) else {
        return Ok(jiff::Timestamp::now());
    };
    // A datetime (timezone-aware), or RFC 3339 text.
    let text: String = if now.hasattr("isoformat")? {
        if now.getattr("tzinfo")?.is_none() {
            return Err(input("now: a datetime needs a timezone (datetime.now(timezone.utc))"));
        }
        now.call_method0("isoformat")?.extract()?
    } else {
        now.extract()?
    };
    paved::parse_instant(&text).map_err(|e| input(format!("now: {e}")))
}

fn operation(name: &str) -> PyResult<Operation> {
    name.parse().map_err(input)
}

/// A compiled engine: policies, exceptions and plugins, immutable and shared between threads.
#[pyclass(frozen, module = "paved._paved")]
struct Engine {
    inner: Arc<Core>,
}

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (bundle=None, packs=None, set=None, exceptions=None, plugins=None))]
    fn new(
        py: Python<'_>,
        bundle: Option<&Bound<'_, PyAny>>,
        packs: Option<Vec<String>>,
        set: Option<&Bound<'_, PyDict>>,
        exceptions: Option<&Bound<'_, PyAny>>,
        plugins: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let paths = |v: Option<&Bound<'_, PyAny>>| -> PyResult<Vec<PathBuf>> {
            match v {
                None => Ok(Vec::new()),
                Some(v) if v.is_none() => Ok(Vec::new()),
                Some(v) if v.is_instance_of::<PyString>() || v.hasattr("__fspath__")? => Ok(vec![v.extract()?]),
                Some(v) => v.try_iter()?.map(|p| p?.extract()).collect(),
            }
        };
        let (bundles, exceptions) = (paths(bundle)?, paths(exceptions)?);
        let packs = packs.unwrap_or_default();
        let components = components(plugins)?;
        let sets = sets(set)?;
        let engine = py
            .detach(|| {
                let mut builder = Core::builder();
                if packs.is_empty() && bundles.is_empty() {
                    builder = builder.bundle(Bundle::defaults()?);
                }
                for p in &packs {
                    builder = builder.bundle(Bundle::pack(p)?);
                }
                for b in &bundles {
                    builder = builder.bundle(Bundle::from_paths(std::slice::from_ref(b))?);
                }
                for e in &exceptions {
                    builder = builder.bundle(Bundle::exceptions_from_paths(std::slice::from_ref(e))?);
                }
                for (name, bytes) in components {
                    builder = builder.plugin(&name, bytes);
                }
                sets.into_iter().fold(builder, |b, (key, value)| b.set(&key, value)).build()
            })
            .map_err(|e| build_error(py, &e))?;
        Ok(Engine { inner: Arc::new(engine) })
    }

    /// An engine from the text of one bundle file (policies, exceptions, settings).
    #[staticmethod]
    #[pyo3(signature = (text, set=None, file="bundle.yaml", plugins=None))]
    fn from_yaml(
        py: Python<'_>,
        text: &str,
        set: Option<&Bound<'_, PyDict>>,
        file: &str,
        plugins: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let sets = sets(set)?;
        let components = components(plugins)?;
        let engine = py
            .detach(|| {
                let mut builder = Core::builder().bundle(Bundle::from_str(file, text)?);
                for (name, bytes) in components {
                    builder = builder.plugin(&name, bytes);
                }
                sets.into_iter().fold(builder, |b, (key, value)| b.set(&key, value)).build()
            })
            .map_err(|e| build_error(py, &e))?;
        Ok(Engine { inner: Arc::new(engine) })
    }

    /// Evaluates objects; returns the native report. (Python's keyword arguments, one each.)
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (objects, now=None, operation="CREATE", namespaces=None, user_info=None, namespace=None, inventory=None, inventory_complete=None, images=None))]
    fn check(
        &self,
        py: Python<'_>,
        objects: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
        operation: &str,
        namespaces: Option<&Bound<'_, PyDict>>,
        user_info: Option<&Bound<'_, PyAny>>,
        namespace: Option<String>,
        inventory: Option<&Bound<'_, PyAny>>,
        inventory_complete: Option<&Bound<'_, PyAny>>,
        images: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Report> {
        let ctx =
            context(py, now, operation, namespaces, user_info, namespace, (inventory, inventory_complete), images)?;
        let resources = resources(py, objects)?;
        let engine = Arc::clone(&self.inner);
        let report = py.detach(move || engine.evaluate(&resources, &ctx));
        Ok(Report { inner: report })
    }

    /// Mutates objects, then validates what the mutations made: the objects as the mutations
    /// left them (dicts, in order) and the report (its `patches` say what changed and why).
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (objects, now=None, operation="CREATE", namespaces=None, user_info=None, namespace=None, inventory=None, inventory_complete=None, images=None))]
    fn mutate<'py>(
        &self,
        py: Python<'py>,
        objects: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
        operation: &str,
        namespaces: Option<&Bound<'py, PyDict>>,
        user_info: Option<&Bound<'py, PyAny>>,
        namespace: Option<String>,
        inventory: Option<&Bound<'py, PyAny>>,
        inventory_complete: Option<&Bound<'py, PyAny>>,
        images: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyAny>, Report)> {
        let ctx =
            context(py, now, operation, namespaces, user_info, namespace, (inventory, inventory_complete), images)?;
        let resources = resources(py, objects)?;
        let engine = Arc::clone(&self.inner);
        let (mutated, report) = py.detach(move || engine.mutate(&resources, &ctx));
        let values: Vec<&Value> = mutated.iter().map(Resource::value).collect();
        Ok((to_python(py, &values)?, Report { inner: report }))
    }

    /// Answers an AdmissionReview (a dict) with the AdmissionReview response (a dict).
    #[pyo3(signature = (review, now=None))]
    fn admit<'py>(
        &self,
        py: Python<'py>,
        review: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let review = json_of(review)?;
        let ctx = Context::at(instant(now)?);
        let engine = Arc::clone(&self.inner);
        let answer = py.detach(move || engine.admit(review, &ctx));
        match answer {
            Ok(a) => to_python(py, &a),
            Err(e) => match e.denial() {
                Some(denial) => to_python(py, &denial),
                None => Err(input(e.to_string())),
            },
        }
    }

    /// The images of `objects` that `verifyImages` rules ask to be verified (dicts): verify
    /// them (`paved check --record-image-verdicts` does) and give the verdicts as `images=`.
    fn image_requests<'py>(&self, py: Python<'py>, objects: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let resources = resources(py, objects)?;
        to_python(py, &self.inner.image_requests(&resources))
    }

    /// What each policy is and checks.
    fn policies<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.policies())
    }

    /// Every exception and its standing at `now`.
    #[pyo3(signature = (now=None))]
    fn exceptions<'py>(&self, py: Python<'py>, now: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.exceptions(instant(now)?))
    }
}

/// The context `check` and `mutate` are given by their keyword arguments.
#[allow(clippy::too_many_arguments)]
fn context(
    py: Python<'_>,
    now: Option<&Bound<'_, PyAny>>,
    operation: &str,
    namespaces: Option<&Bound<'_, PyDict>>,
    user_info: Option<&Bound<'_, PyAny>>,
    namespace: Option<String>,
    (inventory, inventory_complete): (Option<&Bound<'_, PyAny>>, Option<&Bound<'_, PyAny>>),
    images: Option<&Bound<'_, PyAny>>,
) -> PyResult<Context> {
    let mut ctx = Context::at(instant(now)?).operation(self::operation(operation)?);
    if let Some(images) = images.filter(|i| !i.is_none()) {
        let verdicts = paved::ImageVerdicts::from_json(json_of(images)?).map_err(|e| input(format!("images: {e}")))?;
        ctx = ctx.images(verdicts);
    }
    if let Some(ns) = namespaces {
        ctx.namespaces =
            depythonize(ns.as_any()).map_err(|e| input(format!("namespaces: {e} (a dict of name to labels)")))?;
    }
    if let Some(u) = user_info.filter(|u| !u.is_none()) {
        ctx.user_info = json_of(u)?;
    }
    if let Some(ns) = namespace {
        ctx = ctx.namespace(&ns);
    }
    let inventory = inventory.filter(|i| !i.is_none());
    let complete = inventory_complete.filter(|c| !c.is_none());
    if inventory.is_some() || complete.is_some() {
        let objects = match inventory {
            Some(i) => resources(py, i)?,
            None => Vec::new(),
        };
        let mut found = paved::Inventory::new(&objects);
        if let Some(c) = complete {
            found = match c.extract::<bool>() {
                Ok(true) => found.complete_all(),
                Ok(false) => found,
                Err(_) => found.complete_namespaces(
                    c.extract::<Vec<String>>()
                        .map_err(|_| input("inventory_complete: True, or a list of namespace names".to_owned()))?,
                ),
            };
        }
        ctx = ctx.inventory(found);
    }
    Ok(ctx)
}

/// Plugin components by name: bytes, or a path to read them from.
fn components(plugins: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for (name, component) in plugins.map(|p| p.iter().collect::<Vec<_>>()).unwrap_or_default() {
        let name: String = name.extract()?;
        let bytes = match component.cast::<PyBytes>() {
            Ok(b) => b.as_bytes().to_vec(),
            Err(_) => {
                let path: PathBuf = component.extract()?;
                std::fs::read(&path)
                    .map_err(|e| LoadError::new_err(format!("plugin {name}: cannot read {}: {e}", path.display())))?
            }
        };
        out.push((name, bytes));
    }
    Ok(out)
}

/// Params as `set` gives them, for the engine's builder: `{"POLICY.PARAM": value}` or
/// `{"POLICY": {params}}`.
fn sets(set: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<(String, Value)>> {
    let mut out = Vec::new();
    for (key, value) in set.map(|s| s.iter().collect::<Vec<_>>()).unwrap_or_default() {
        out.push((key.extract()?, json_of(&value)?));
    }
    Ok(out)
}

/// An engine that does not build: a param given wrong is an input error (as `set: ...`),
/// anything else a load error.
fn build_error(py: Python<'_>, e: &paved::Error) -> PyErr {
    match e {
        paved::Error::Input { reason } => input(format!("set: {reason}")),
        other => load_error(py, other),
    }
}
/// One evaluation's report.
#[pyclass(frozen, module = "paved._paved")]
struct Report {
    inner: paved::Report,
}

#[pymethods]
impl Report {
    /// `allow`, `warn` or `deny`.
    #[getter]
    fn decision(&self) -> &'static str {
        self.inner.decision.as_str()
    }

    /// What the mutations changed before the rules judged: one JSON Patch operation each, with
    /// the policy, mutation and reason.
    #[getter]
    fn patches<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.patches)
    }

    /// The report as Python data (the JSON contract).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner)
    }

    /// The report as JSON text.
    #[pyo3(signature = (indent=true))]
    fn to_json(&self, indent: bool) -> String {
        if indent {
            self.inner.to_json()
        } else {
            self.inner.to_json_compact()
        }
    }

    /// The report as `sarif`, `junit`, `github`, `policy-report`, `code-quality` or `json`.
    fn format(&self, py: Python<'_>, name: &str) -> PyResult<String> {
        let format: paved::Format = name.parse().map_err(|e| input_error(py, &e))?;
        Ok(self.inner.format(format))
    }
}

fn bundle_of(py: Python<'_>, bundle: Option<PathBuf>) -> PyResult<Bundle> {
    // The built-in golden paths, with the bundle's merged over them (as the CLI does).
    py.detach(|| {
        let builtin = Bundle::golden_paths_builtin()?;
        match &bundle {
            Some(b) => Ok(builtin.merge(Bundle::from_paths(std::slice::from_ref(b))?)),
            None => Ok(builtin),
        }
    })
    .map_err(|e| load_error(py, &e))
}

/// Renders a golden path (`NAME`, `NAME@RANGE`): the manifests, as dicts; a render its own
/// policies deny raises `NonCompliantError` with the report.
#[pyfunction]
#[pyo3(signature = (golden_path, inputs, bundle=None))]
fn render<'py>(
    py: Python<'py>,
    golden_path: &str,
    inputs: &Bound<'py, PyAny>,
    bundle: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    let inputs = json_of(inputs)?;
    let bundle = bundle_of(py, bundle)?;
    let rendered = py
        .detach(|| bundle.golden_path(golden_path).map_err(RenderError::from).and_then(|p| p.render(&inputs, &bundle)));
    let rendered = rendered.map_err(|e| render_error(py, &e))?;
    to_python(py, &rendered.manifests)
}

/// Conformance of live objects to the golden paths they were rendered from.
#[pyfunction]
#[pyo3(signature = (objects, bundle=None, now=None))]
fn conform<'py>(
    py: Python<'py>,
    objects: &Bound<'py, PyAny>,
    bundle: Option<PathBuf>,
    now: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let resources = resources(py, objects)?;
    let (bundle, ctx) = (bundle_of(py, bundle)?, Context::at(instant(now)?));
    let c = py.detach(|| GoldenPath::conform(&bundle, &resources, &ctx));
    to_python(py, &c)
}

/// A service's inputs moved from `from_` (`NAME@VERSION`) to the highest version `to` allows.
#[pyfunction]
#[pyo3(signature = (from_, inputs, to="*", bundle=None))]
fn upgrade<'py>(
    py: Python<'py>,
    from_: &str,
    inputs: &Bound<'py, PyAny>,
    to: &str,
    bundle: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    let inputs = json_of(inputs)?;
    let bundle = bundle_of(py, bundle)?;
    let u = py.detach(|| GoldenPath::upgrade(&bundle, from_, &inputs, to)).map_err(|e| input_error(py, &e))?;
    to_python(py, &u)
}

/// Which golden path version every service is on, and how far behind.
#[pyfunction]
#[pyo3(signature = (objects, bundle=None, now=None))]
fn outdated<'py>(
    py: Python<'py>,
    objects: &Bound<'py, PyAny>,
    bundle: Option<PathBuf>,
    now: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let resources = resources(py, objects)?;
    let (bundle, now) = (bundle_of(py, bundle)?, instant(now)?);
    let f = py.detach(|| GoldenPath::outdated(&bundle, &resources, now));
    to_python(py, &f)
}

/// The built-in packs: name, description, and whether they run by default.
#[pyfunction]
fn packs<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
    let list = PyList::empty(py);
    for p in Bundle::packs() {
        let d = PyDict::new(py);
        d.set_item("name", p.name)?;
        d.set_item("description", p.description)?;
        d.set_item("default", p.default)?;
        list.append(d)?;
    }
    Ok(list.into_any())
}

#[pymodule]
fn _paved(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Engine>()?;
    m.add_class::<Report>()?;
    m.add_class::<Diagnostic>()?;
    m.add_function(wrap_pyfunction!(render, m)?)?;
    m.add_function(wrap_pyfunction!(conform, m)?)?;
    m.add_function(wrap_pyfunction!(upgrade, m)?)?;
    m.add_function(wrap_pyfunction!(outdated, m)?)?;
    m.add_function(wrap_pyfunction!(packs, m)?)?;
    m.add("PavedError", py.get_type::<PavedError>())?;
    m.add("LoadError", py.get_type::<LoadError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("GoldenPathError", py.get_type::<GoldenPathError>())?;
    m.add("NonCompliantError", py.get_type::<NonCompliantError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
