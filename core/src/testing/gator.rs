//! Gatekeeper's `gator verify` suites (`test.gatekeeper.sh/v1alpha1` Suite) as suites: each
//! test's template, constraint (and expansion) make the bundle, each case one case whose object
//! (a manifest, or an AdmissionReview) is judged with its inventory, and each assertion counts
//! the constraint's violations (`yes`, `no` or a number), those whose message matches
//! `message` (a regular expression, searched as gator searches it) when given. A test marked
//! `invalid` expects its constraint to be refused by its template's schema.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::suite::{gather, Case, Expect, TestSuite, Violations};
use crate::compile::bundle::Bundle;
use crate::engine::inventory::Inventory;
use crate::engine::resource::Resource;
use crate::engine::Context;
use crate::error::Diagnostics;
use crate::load::{self, Origin, Sourced};
use crate::model::Outcome;

/// The API version of gator's suites.
pub(super) const API_VERSION: &str = "test.gatekeeper.sh/v1alpha1";

#[allow(dead_code)] // `apiVersion` and `kind` are checked before the document is read
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Suite {
    api_version: String,
    kind: String,
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default)]
    tests: Vec<Test>,
    #[serde(default)]
    skip: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Test {
    #[serde(default)]
    name: String,
    #[serde(default)]
    template: String,
    #[serde(default)]
    constraint: String,
    #[serde(default)]
    expansion: String,
    #[serde(default)]
    cases: Vec<GatorCase>,
    #[serde(default)]
    invalid: bool,
    #[serde(default)]
    skip: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct GatorCase {
    #[serde(default)]
    name: String,
    #[serde(default)]
    object: String,
    #[serde(default)]
    inventory: Vec<String>,
    #[serde(default)]
    assertions: Vec<Assertion>,
    #[serde(default)]
    skip: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Assertion {
    #[serde(default)]
    violations: Option<Value>,
    #[serde(default)]
    message: Option<String>,
}

/// A gator suite as suites, one per test that is not skipped; problems go to `diags`.
pub(super) fn compile(doc: &Sourced, diags: &mut Diagnostics) -> Vec<TestSuite> {
    let (suite, problems) = load::typed_despite::<Suite>(doc);
    problems.into_iter().for_each(|d| diags.push(d));
    let Some(suite) = suite.filter(|s| !s.skip) else { return Vec::new() };
    let origin = &doc.origin;
    let dir = Path::new(&*origin.file).parent().map(Path::to_path_buf).unwrap_or_default();
    let suite_name = suite
        .metadata
        .as_ref()
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .map_or_else(|| origin.file.to_string(), str::to_owned);
    let mut out = Vec::new();
    for (i, test) in suite.tests.iter().enumerate().filter(|(_, t)| !t.skip) {
        let here = format!("/tests/{i}");
        let before = diags.len();
        for (field, value) in [("template", &test.template), ("constraint", &test.constraint)] {
            if value.is_empty() {
                diags.push(origin.diagnostic(&here, format!("a test needs its `{field}`"), None));
            }
        }
        let mut files = vec![dir.join(&test.template), dir.join(&test.constraint)];
        if !test.expansion.is_empty() {
            files.push(dir.join(&test.expansion));
        }
        let bundle = gather(origin, &here, Bundle::from_paths(&files), diags).unwrap_or_default();
        let cases = if test.invalid {
            vec![invalid_case(origin, &here)]
        } else {
            let live = test.cases.iter().enumerate().filter(|(_, c)| !c.skip);
            live.filter_map(|(j, c)| case(c, (&dir, origin, &format!("{here}/cases/{j}")), diags)).collect()
        };
        if diags.len() == before {
            out.push(TestSuite {
                name: format!("{suite_name}/{}", test.name),
                file: origin.file.to_string(),
                bundle,
                now: None,
                base: Context::at(jiff::Timestamp::UNIX_EPOCH),
                cases,
            });
        }
    }
    out
}

/// The case of an `invalid` test: the engine must refuse the constraint.
fn invalid_case(origin: &Origin, here: &str) -> Case {
    Case {
        name: "the constraint does not fit its template's schema".into(),
        line: origin.locate(&format!("{here}/invalid")).line,
        now: None,
        operation: None,
        user_info: None,
        namespace: None,
        resources: Vec::new(),
        inventory: None,
        images: Default::default(),
        exceptions: Bundle::default(),
        expect: Vec::new(),
        invalid: true,
    }
}

/// One case: its object (exactly one), its inventory and its assertions.
fn case(c: &GatorCase, (dir, origin, here): (&Path, &Origin, &str), diags: &mut Diagnostics) -> Option<Case> {
    let problem = |field: &str, message: String| origin.diagnostic(&format!("{here}/{field}"), message, None);
    if c.object.is_empty() {
        diags.push(problem("", "a case needs its `object`".into()));
        return None;
    }
    if c.assertions.is_empty() {
        diags.push(problem("", "a case needs `assertions`".into()));
        return None;
    }
    let resources = gather(origin, &format!("{here}/object"), Resource::from_paths(&[dir.join(&c.object)]), diags)?;
    if resources.len() != 1 {
        let message = format!("`{}` holds {} objects; a case judges one", c.object, resources.len());
        diags.push(problem("object", message));
        return None;
    }
    let mut objects = Vec::new();
    for (j, file) in c.inventory.iter().enumerate() {
        let read = Resource::from_paths(&[dir.join(file)]);
        objects.extend(gather(origin, &format!("{here}/inventory/{j}"), read, diags).unwrap_or_default());
    }
    let resource = resources.first().map(|r| r.identity().to_string()).unwrap_or_default();
    let mut expect = Vec::new();
    for (j, a) in c.assertions.iter().enumerate() {
        let at = format!("{here}/assertions/{j}");
        let want = match &a.violations {
            None => Some(None),
            Some(Value::String(s)) if s == "yes" => Some(None),
            Some(Value::String(s)) if s == "no" => Some(Some(0)),
            Some(Value::Number(n)) => n.as_u64().map(Some),
            Some(_) => None,
        };
        let Some(want) = want else {
            let message = "`violations` is a non-negative number, `yes` or `no`".to_owned();
            diags.push(origin.diagnostic(&format!("{at}/violations"), message, None));
            continue;
        };
        let message = match a.message.as_deref().map(regex::Regex::new).transpose() {
            Ok(m) => m,
            Err(e) => {
                diags.push(origin.diagnostic(&format!("{at}/message"), format!("not a regular expression: {e}"), None));
                continue;
            }
        };
        expect.push(Expect {
            resource: resource.clone(),
            index: 0,
            policy: String::new(),
            rule: None,
            result: if want == Some(0) { Outcome::Pass } else { Outcome::Fail },
            line: origin.locate(&at).line,
            errors_apart: false,
            violations: Some(Violations { want, message }),
            patched: None,
        });
    }
    Some(Case {
        name: c.name.clone(),
        line: origin.locate(here).line,
        now: None,
        operation: None,
        user_info: None,
        namespace: None,
        resources,
        inventory: (!objects.is_empty()).then(|| Inventory::new(&objects)),
        images: Default::default(),
        exceptions: Bundle::default(),
        expect,
        invalid: false,
    })
}
