//! Policy tests (`kind: PolicyTest`): resources, and what each policy or rule should make of
//! them, checked against a real evaluation. Platform teams test their policies the way they
//! test code; the built-in packs are tested this way too.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use crate::compile::bundle::Bundle;
use crate::compile::exception::parse_instant;
use crate::engine::inventory::Inventory;
use crate::engine::resource::{self, Resource};
use crate::engine::{Context, Engine};
use crate::error::{did_you_mean, Diagnostics, Error};
use crate::k8s::ResourceRef;
use crate::load::{self, Origin, Sourced};
pub use crate::model::Outcome;
use crate::model::{Completeness, TestDocument};
use crate::report::{Finding, Report};

mod gator;
mod kyverno;
mod suite;

pub use suite::TestSuite;
use suite::{find, Case, Expect};

/// The results of one suite.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SuiteReport {
    /// The suite's `metadata.name`.
    pub name: String,
    /// Its file.
    pub file: String,
    /// Every case, in order.
    pub cases: Vec<CaseReport>,
}

/// The results of one case.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CaseReport {
    /// The case's name.
    pub name: String,
    /// Where it starts in the test file.
    pub line: u32,
    /// Every expectation, in order.
    pub checks: Vec<CheckReport>,
    /// Set when the case could not run: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One expectation and what happened.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CheckReport {
    /// The resource, as the test names it.
    pub resource: String,
    /// The policy.
    pub policy: String,
    /// The rule, when the expectation names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// What the test expects.
    pub expected: Outcome,
    /// What the evaluation gave.
    pub actual: Outcome,
    /// The findings behind `actual`.
    pub findings: Vec<Finding>,
    /// Where the expectation is written.
    pub line: u32,
    /// For a count of findings (a gator assertion): what was wanted and what was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub violations: Option<ViolationCount>,
}

/// A gator assertion's count of findings.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ViolationCount {
    /// `yes` (at least one) or a number.
    pub expected: String,
    /// How many findings there were (of those whose message matches `message`).
    pub actual: usize,
    /// The regular expression a finding's message must match to count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl CheckReport {
    /// Whether the evaluation gave what the test expects.
    pub fn passed(&self) -> bool {
        match &self.violations {
            Some(v) if v.expected == "yes" => v.actual > 0,
            Some(v) => v.expected == v.actual.to_string(),
            None => self.expected == self.actual,
        }
    }
}

impl CaseReport {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.checks.iter().all(CheckReport::passed)
    }
}

impl SuiteReport {
    /// Whether every case passed.
    pub fn passed(&self) -> bool {
        self.cases.iter().all(CaseReport::passed)
    }
}

impl TestSuite {
    /// Loads the suites in `paths`: files as given, and under directories the files whose names
    /// end in `test.yaml` or `test.yml` (`platform.test.yaml`, `kyverno-test.yaml`). Every
    /// problem of every file is reported together.
    pub fn from_paths<P: Into<PathBuf> + Clone>(paths: &[P]) -> Result<Vec<TestSuite>, Error> {
        let mut files = Vec::new();
        for p in paths.iter().cloned().map(Into::into) {
            if p.is_dir() {
                files.extend(load::files_under(&[p], &[])?.into_iter().filter(|f| is_test_file(f)));
            } else {
                files.push(p);
            }
        }
        let mut diags = Diagnostics::default();
        let mut suites = Vec::new();
        for f in files {
            match load::read_file(&f, load::Schema::Core)? {
                Ok(docs) => suites.extend(from_documents(docs, &mut diags)),
                Err(d) => diags.push(d),
            }
        }
        diags.into_result(suites)
    }

    /// Loads the suites of one text; relative paths in it are read relative to `file`'s folder.
    pub fn from_str(file: &str, text: &str) -> Result<Vec<TestSuite>, Error> {
        let mut diags = Diagnostics::default();
        let suites = match load::parse_text(file, text) {
            Ok(docs) => from_documents(docs, &mut diags),
            Err(d) => {
                diags.push(d);
                Vec::new()
            }
        };
        diags.into_result(suites)
    }

    /// The tests of a built-in pack (`packs/tests/`): every rule has a case that passes and one
    /// that fails, which `paved explain` shows as its examples.
    pub fn of_pack(name: &str) -> Result<Vec<TestSuite>, Error> {
        let mut out = Vec::new();
        for (file, text) in crate::load::packs::Pack::named(name)?.tests() {
            out.append(&mut TestSuite::from_str(file, text)?);
        }
        Ok(out)
    }

    /// The suite's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs every case. `now` is used where the suite and case give none.
    pub fn run(&self, now: Timestamp) -> SuiteReport {
        let cases = self.cases.iter().map(|c| self.run_case(c, now)).collect();
        SuiteReport { name: self.name.clone(), file: self.file.clone(), cases }
    }

    fn run_case(&self, case: &Case, now: Timestamp) -> CaseReport {
        let built = Engine::builder().bundle(self.bundle.clone()).bundle(case.exceptions.clone()).build();
        let report =
            |error: Option<String>| CaseReport { name: case.name.clone(), line: case.line, checks: Vec::new(), error };
        let engine = match (built, case.invalid) {
            (Ok(e), false) => e,
            (Err(e), false) => return report(Some(e.to_string())),
            (Err(_), true) => return report(None),
            (Ok(_), true) => {
                return report(Some("the engine was built: the constraint fits its template's schema".into()))
            }
        };
        let mut ctx = Context { now: case.now.or(self.now).unwrap_or(now), ..self.base.clone() };
        ctx.operation = case.operation.unwrap_or(ctx.operation);
        if let Some(u) = &case.user_info {
            ctx.user_info = u.clone();
        }
        ctx.namespace = case.namespace.clone().or(ctx.namespace);
        ctx.inventory = case.inventory.clone().map(std::sync::Arc::new);
        ctx.images = case.images.clone();
        let (mutated, report) = engine.mutate(&case.resources, &ctx);
        let checks = case
            .expect
            .iter()
            .map(|e| {
                let (mut actual, mut findings) = outcome(&report, e);
                if let (Outcome::Pass, Some(want), Some(made)) = (actual, &e.patched, mutated.get(e.index)) {
                    if let Some(differs) = unlike(want, made, e) {
                        (actual, findings) = (Outcome::Fail, vec![differs]);
                    }
                }
                let violations = e.violations.as_ref().map(|v| ViolationCount {
                    expected: v.want.map_or_else(|| "yes".to_owned(), |n| n.to_string()),
                    actual: findings.len(),
                    message: v.message.as_ref().map(|m| m.as_str().to_owned()),
                });
                CheckReport {
                    resource: e.resource.clone(),
                    policy: e.policy.clone(),
                    rule: e.rule.clone(),
                    expected: e.result,
                    actual,
                    findings,
                    line: e.line,
                    violations,
                }
            })
            .collect();
        CaseReport { name: case.name.clone(), line: case.line, checks, error: None }
    }

    /// For each case and expectation: the case's inline resources, when it has any. `paved
    /// explain` shows them as a rule's good and bad examples.
    pub fn examples(&self) -> Vec<Example> {
        let mut out = Vec::new();
        for c in &self.cases {
            for e in &c.expect {
                if let Some(r) = c.resources.get(e.index) {
                    out.push(Example {
                        case: c.name.clone(),
                        policy: e.policy.clone(),
                        rule: e.rule.clone(),
                        result: e.result,
                        resource: r.value.clone(),
                        focused: c.expect.len() == 1,
                    });
                }
            }
        }
        out
    }
}

/// A resource a test expects a result for.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Example {
    /// The case's name.
    pub case: String,
    /// The policy.
    pub policy: String,
    /// The rule, when the expectation names one.
    pub rule: Option<String>,
    /// The expected result.
    pub result: Outcome,
    /// The resource.
    pub resource: Value,
    /// Whether it is the case's only expectation (a case about this rule alone).
    pub focused: bool,
}

/// A test file by its name: `*test.yaml` (paved's and Kyverno's), `*suite.yaml` (gator's).
fn is_test_file(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| ["test.yaml", "test.yml", "suite.yaml", "suite.yml"].iter().any(|end| n.ends_with(end)))
}

/// Where the resource the mutations made differs from the one a test wants (the first place), as
/// a finding of the expectation's policy; `None` when they are alike.
fn unlike(want: &Value, made: &crate::Resource, e: &Expect) -> Option<Finding> {
    // The namespace a test places a resource in is not the mutation's.
    let mut placed = made.value().clone();
    if want.pointer("/metadata/namespace").is_none() {
        if let Some(m) = placed.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("namespace");
        }
    }
    let diff = json_patch::diff(&placed, want);
    let first = diff.0.first()?;
    let path = first.path().to_string();
    let is = made.value().pointer(&path).map_or_else(|| "nothing".to_owned(), Value::to_string);
    let wanted = want.pointer(&path).map_or_else(|| "nothing".to_owned(), Value::to_string);
    let more = if diff.0.len() > 1 { format!(" (and {} more differences)", diff.0.len() - 1) } else { String::new() };
    Some(Finding {
        policy: e.policy.clone(),
        binding: None,
        rule: e.rule.clone().unwrap_or_default(),
        severity: Default::default(),
        action: crate::model::Action::Deny,
        message: format!("the mutated resource has {is} at {path}, the patched one {wanted}{more}"),
        detail: None,
        help: None,
        resource: made.identity(),
        source: made.source_of(&path),
        container: None,
        path,
        error: None,
        waived_by: None,
    })
}

/// What the report says of one expectation, with the findings behind it.
fn outcome(report: &Report, e: &Expect) -> (Outcome, Vec<Finding>) {
    let Some((r, findings)) = report.by_resource().nth(e.index) else {
        return (Outcome::Skip, Vec::new());
    };
    if let Some(v) = &e.violations {
        // Every finding of the case's one constraint counts, whatever its action (gator's).
        let counted: Vec<Finding> =
            findings.iter().filter(|f| v.message.as_ref().is_none_or(|m| m.is_match(&f.message))).cloned().collect();
        return (if counted.is_empty() { Outcome::Pass } else { Outcome::Fail }, counted);
    }
    if !r.policies.contains(&e.policy) {
        return (Outcome::Skip, Vec::new());
    }
    // What is only recorded of a mutation (that the API server would store an unstable result)
    // is not its result.
    let noted = |f: &Finding| {
        f.action == crate::model::Action::Audit
            && f.error.as_ref().is_some_and(|x| x.kind == crate::report::ErrorKind::Mutation)
    };
    let mine: Vec<Finding> = findings
        .iter()
        .filter(|f| f.policy == e.policy && e.rule.as_ref().is_none_or(|r| &f.rule == r) && !noted(f))
        .cloned()
        .collect();
    let unwaived: Vec<&Finding> = mine.iter().filter(|f| f.waived_by.is_none()).collect();
    let actual = if mine.is_empty() {
        Outcome::Pass
    } else if unwaived.is_empty() {
        Outcome::Waived
    } else if unwaived.iter().all(|f| f.unknown()) {
        Outcome::Unknown
    } else if (e.errors_apart || e.result == Outcome::Error) && unwaived.iter().all(|f| f.error.is_some()) {
        Outcome::Error
    } else {
        Outcome::Fail
    };
    (actual, mine)
}

fn from_documents(docs: Vec<Sourced>, diags: &mut Diagnostics) -> Vec<TestSuite> {
    let mut out = Vec::new();
    for doc in docs {
        let text = |key: &str| doc.value.get(key).and_then(Value::as_str);
        if text("apiVersion") == Some(kyverno::API_VERSION) && text("kind") == Some("Test") {
            out.extend(kyverno::compile(&doc, diags));
            continue;
        }
        if text("apiVersion") == Some(gator::API_VERSION) && text("kind") == Some("Suite") {
            out.extend(gator::compile(&doc, diags));
            continue;
        }
        if doc.value.get("kind").and_then(Value::as_str) != Some("PolicyTest") {
            diags.push(doc.origin.diagnostic(
                "/kind",
                "a test file holds `kind: PolicyTest` documents only",
                Some("put resources in the cases' `resources`, or in files named by `files`".into()),
            ));
            continue;
        }
        match load::typed::<TestDocument>(&doc) {
            Ok(t) => {
                if let Some(s) = compile(t, &doc, diags) {
                    out.push(s);
                }
            }
            Err(ds) => ds.into_iter().for_each(|d| diags.push(d)),
        }
    }
    out
}

/// Compiles a suite, checking that every name in it exists.
fn compile(t: TestDocument, doc: &Sourced, diags: &mut Diagnostics) -> Option<TestSuite> {
    let before = diags.len();
    let origin = &doc.origin;
    let dir = Path::new(&*origin.file).parent().map(Path::to_path_buf).unwrap_or_default();
    let bundle = suite_bundle(&t, origin, &dir, diags);
    let scope = Scope { origin, dir, policies: bundle.policies() };
    for name in t.spec.params.keys() {
        if !scope.policies.iter().any(|p| &p.name == name) {
            diags.push(origin.diagnostic(
                &format!("/spec/params/{}", crate::load::pointer::escape_segment(name)),
                format!("no policy `{name}` is loaded"),
                scope.closest_policy(name),
            ));
        }
    }
    let mut base = Context::at(Timestamp::UNIX_EPOCH);
    base.operation = t.spec.operation.unwrap_or(base.operation);
    base.params = t.spec.params.clone();
    base.namespaces = t.spec.namespaces.clone();
    let now = scope.instant("/spec/now", &t.spec.now, diags);
    let cases =
        t.spec.cases.iter().enumerate().map(|(i, c)| scope.case(c, &format!("/spec/cases/{i}"), diags)).collect();
    (diags.len() == before).then(|| TestSuite {
        name: t.metadata.name,
        file: origin.file.to_string(),
        bundle,
        now,
        base,
        cases,
    })
}

/// The policies and exceptions a suite runs: its packs, and the bundles and exception files
/// it names (relative to the suite's file).
fn suite_bundle(t: &TestDocument, origin: &Origin, dir: &Path, diags: &mut Diagnostics) -> Bundle {
    let mut bundle = Bundle::default();
    for (i, name) in t.spec.packs.iter().enumerate() {
        match Bundle::pack(name) {
            Ok(b) => bundle = bundle.merge(b),
            Err(e) => diags.push(origin.diagnostic(&format!("/spec/packs/{i}"), e.to_string(), None)),
        }
    }
    for p in t.spec.bundles.iter().chain(&t.spec.exceptions) {
        match Bundle::from_paths(&[dir.join(p)]) {
            Ok(b) => bundle = bundle.merge(b),
            Err(Error::Invalid(d)) => d.0.into_iter().for_each(|d| diags.push(d)),
            Err(e) => diags.push(origin.diagnostic("/spec", e.to_string(), None)),
        }
    }
    bundle
}

/// What compiling a suite's cases needs: where the suite is, and the policies it loaded.
struct Scope<'o> {
    origin: &'o Origin,
    dir: PathBuf,
    policies: Vec<crate::report::PolicyInfo>,
}

impl Scope<'_> {
    fn line(&self, pointer: &str) -> u32 {
        self.origin.locate(pointer).line
    }

    fn instant(&self, pointer: &str, s: &Option<String>, diags: &mut Diagnostics) -> Option<Timestamp> {
        let s = s.as_deref()?;
        parse_instant(s).map_err(|e| diags.push(self.origin.diagnostic(pointer, e, None))).ok()
    }

    fn closest_policy(&self, name: &str) -> Option<String> {
        did_you_mean(name, self.policies.iter().map(|p| p.name.as_str())).map(|s| format!("did you mean `{s}`?"))
    }

    /// A document written inside the suite, at `{here}/{field}/{j}`.
    fn sub(&self, here: &str, field: &str, j: usize, value: &Value) -> Sourced {
        Sourced {
            value: value.clone(),
            origin: Origin { base: format!("{}{here}/{field}/{j}", self.origin.base), ..self.origin.clone() },
        }
    }

    fn case(&self, c: &crate::model::TestCase, here: &str, diags: &mut Diagnostics) -> Case {
        let inline: Vec<Sourced> =
            c.resources.iter().enumerate().map(|(j, v)| self.sub(here, "resources", j, v)).collect();
        let mut resources = resource::from_documents(inline, diags);
        for f in &c.files {
            match Resource::from_paths(&[self.dir.join(f)]) {
                Ok(mut r) => resources.append(&mut r),
                Err(Error::Invalid(d)) => d.0.into_iter().for_each(|d| diags.push(d)),
                Err(e) => diags.push(self.origin.diagnostic(&format!("{here}/files"), e.to_string(), None)),
            }
        }
        if let Some(old) = &c.old_object {
            resources = resources.into_iter().map(|r| r.with_old_object(old.clone())).collect();
        }
        let ids: Vec<ResourceRef> = resources.iter().map(Resource::identity).collect();
        let expect = c
            .expect
            .iter()
            .enumerate()
            .filter_map(|(j, e)| self.expectation(e, &format!("{here}/expect/{j}"), &ids, diags))
            .collect();
        Case {
            name: c.name.clone(),
            line: self.line(here),
            now: self.instant(&format!("{here}/now"), &c.now, diags),
            operation: c.operation,
            user_info: c.user_info.clone(),
            namespace: c.namespace.clone(),
            resources,
            inventory: self.inventory(c, here, diags),
            images: self.images(c, here, diags),
            exceptions: self.exceptions(c, here, diags),
            expect,
            invalid: false,
        }
    }

    /// The verdicts on images the case's `imageVerdicts` file recorded.
    fn images(&self, c: &crate::model::TestCase, here: &str, diags: &mut Diagnostics) -> crate::model::ImageVerdicts {
        let Some(file) = &c.image_verdicts else { return Default::default() };
        let path = self.dir.join(file);
        let read = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display())).and_then(|text| {
            crate::model::ImageVerdicts::from_recorded(&text).map_err(|e| format!("{}: {e}", path.display()))
        });
        read.unwrap_or_else(|why| {
            diags.push(self.origin.diagnostic(&format!("{here}/imageVerdicts"), why, None));
            Default::default()
        })
    }

    fn inventory(&self, c: &crate::model::TestCase, here: &str, diags: &mut Diagnostics) -> Option<Inventory> {
        let mut inline = Vec::new();
        let mut objects = Vec::new();
        for (j, v) in c.inventory.iter().enumerate() {
            let Some(path) = v.as_str() else {
                inline.push(self.sub(here, "inventory", j, v));
                continue;
            };
            match Resource::from_paths(&[self.dir.join(path)]) {
                Ok(mut r) => objects.append(&mut r),
                Err(Error::Invalid(d)) => d.0.into_iter().for_each(|d| diags.push(d)),
                Err(e) => diags.push(self.origin.diagnostic(&format!("{here}/inventory/{j}"), e.to_string(), None)),
            }
        }
        objects.extend(resource::from_documents(inline, diags));
        match &c.inventory_complete {
            None if objects.is_empty() => None,
            None | Some(Completeness::All(false)) => Some(Inventory::new(&objects)),
            Some(Completeness::All(true)) => Some(Inventory::new(&objects).complete_all()),
            Some(Completeness::Namespaces(n)) => Some(Inventory::new(&objects).complete_namespaces(n.iter().cloned())),
        }
    }

    fn exceptions(&self, c: &crate::model::TestCase, here: &str, diags: &mut Diagnostics) -> Bundle {
        let mut waivers = Vec::new();
        for (j, v) in c.exceptions.iter().enumerate() {
            if v.get("kind").and_then(Value::as_str) == Some("PolicyException") {
                waivers.push(self.sub(here, "exceptions", j, v));
            } else {
                diags.push(self.origin.diagnostic(
                    &format!("{here}/exceptions/{j}"),
                    "a case's `exceptions` hold `kind: PolicyException` documents",
                    None,
                ));
            }
        }
        Bundle::from_documents(waivers, diags)
    }

    /// One expectation, checked to name a loaded policy, one of its rules and one resource.
    fn expectation(
        &self,
        e: &crate::model::Expectation,
        ptr: &str,
        ids: &[ResourceRef],
        diags: &mut Diagnostics,
    ) -> Option<Expect> {
        let problem = |field: &str, message: String, help: Option<String>| {
            self.origin.diagnostic(&format!("{ptr}/{field}"), message, help)
        };
        let Some(policy) = self.policies.iter().find(|p| p.name == e.policy) else {
            diags.push(problem(
                "policy",
                format!("no policy `{}` is loaded", e.policy),
                self.closest_policy(&e.policy),
            ));
            return None;
        };
        if let Some(rule) = e.rule.as_ref().filter(|rule| !policy.rules.iter().any(|r| &&r.id == rule)) {
            let help = did_you_mean(rule, policy.rules.iter().map(|r| r.id.as_str()))
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| {
                    let all: Vec<&str> = policy.rules.iter().map(|r| r.id.as_str()).collect();
                    format!("its rules are: {}", all.join(", "))
                });
            diags.push(problem("rule", format!("policy `{}` has no rule `{rule}`", e.policy), Some(help)));
            return None;
        }
        match find(ids, &e.resource) {
            Ok(index) => Some(Expect {
                resource: e.resource.clone(),
                index,
                policy: e.policy.clone(),
                rule: e.rule.clone(),
                result: e.result,
                line: self.line(ptr),
                errors_apart: false,
                violations: None,
                patched: None,
            }),
            Err((message, help)) => {
                diags.push(problem("resource", message, help));
                None
            }
        }
    }
}

impl SuiteReport {
    /// Suites' results as JUnit XML: a test suite per suite, a test case per case; a failed case
    /// lists each expectation that did not hold.
    pub fn junit(reports: &[SuiteReport]) -> String {
        use crate::report::xml_escape as esc;
        use std::fmt::Write;
        let (tests, failures): (usize, usize) = reports
            .iter()
            .map(|s| (s.cases.len(), s.cases.iter().filter(|c| !c.passed()).count()))
            .fold((0, 0), |(a, b), (c, d)| (a + c, b + d));
        let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"paved test\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n"
    );
        for s in reports {
            let failed = s.cases.iter().filter(|c| !c.passed()).count();
            let _ = writeln!(
                out,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" skipped=\"0\">",
                esc(&s.name),
                s.cases.len()
            );
            for c in &s.cases {
                let _ = write!(
                    out,
                    "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" line=\"{}\"",
                    esc(&s.name),
                    esc(&c.name),
                    esc(&s.file),
                    c.line
                );
                if c.passed() {
                    out.push_str("/>\n");
                    continue;
                }
                let mut diffs: Vec<String> =
                    c.checks.iter().filter(|k| !k.passed()).map(CheckReport::describe).collect();
                diffs.extend(c.error.iter().map(|e| format!("the case could not run: {e}")));
                let _ = write!(
                    out,
                    ">\n      <failure message=\"{} of {} expectations did not hold\">{}</failure>\n    </testcase>\n",
                    c.checks.iter().filter(|k| !k.passed()).count(),
                    c.checks.len(),
                    esc(&diffs.join("\n"))
                );
            }
            out.push_str("  </testsuite>\n");
        }
        out.push_str("</testsuites>\n");
        out
    }
}

impl CheckReport {
    /// What the check is about: `Pod/web policy/rule`.
    pub fn subject(&self) -> String {
        match &self.rule {
            Some(r) => format!("{} {}/{r}", self.resource, self.policy),
            None => format!("{} {}", self.resource, self.policy),
        }
    }

    /// A failed expectation as text: what was expected, what came, and the findings behind it.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "line {}: {}\n  - expected {}\n  + got      {}",
            self.line,
            self.subject(),
            self.expected,
            self.actual
        );
        for f in &self.findings {
            let waived = f.waived_by.as_ref().map(|w| format!(" (waived by {w})")).unwrap_or_default();
            s.push_str(&format!("\n    {}/{} at {}: {}{waived}", f.policy, f.rule, f.path, f.message));
        }
        s
    }
}
