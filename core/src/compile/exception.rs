//! Policy exceptions: owned, justified, always expiring waivers.
//!
//! The longest window an exception may run (`exceptionMaxDays`, default 90) is the platform's:
//! the settings of the engine that judges it, whatever source the exception came from (a bundle,
//! `--exceptions`, the webhook, a binding). It counts from the exception's `spec.created` when it
//! has one (checked when its own bundle loads too, for early feedback), else from the
//! evaluation's `now`, the moment the exception is seen. An exception past its window, or
//! `created` after `now`, is `invalid` and waives nothing. All of it is a pure function of the
//! documents, the settings and `now`, so every embedding decides the same.

use jiff::{civil::Date, tz::TimeZone, SignedDuration, Timestamp};

use crate::compile::expr::{self, Expr, Form, Scope};
use crate::compile::select::{GlobFilter, Selector, Subject};
use crate::error::Diagnostic;
use crate::k8s::Operation;
use crate::load::Origin;
use crate::model::{
    BundleSpec, ExceptionDocument, ExceptionMatch, ExceptionSpec, KyvernoExceptionDocument, Match, Metadata,
    WaivedPolicy,
};
use crate::report::ExceptionStatus;

/// A compiled exception.
#[derive(Debug)]
pub(crate) struct Exception {
    pub name: String,
    pub owner: String,
    pub reason: String,
    pub ticket: Option<String>,
    pub approved_by: Option<String>,
    pub created: Option<Timestamp>,
    pub expires: Timestamp,
    pub policies: Vec<(String, Vec<String>)>,
    /// Kinds, namespaces and names, compiled as a policy's `match` is.
    pub selector: Selector,
    pub containers: GlobFilter,
    /// Whether its `match` takes in every resource and container.
    pub everything: bool,
    /// A Kyverno exception's own terms.
    pub kyverno: Option<KyvernoTerms>,
    pub origin: Origin,
}

/// What a Kyverno PolicyException adds: it waives a finding only where its match conditions
/// held on the resource; with `images` or `allowedValues` it waives nothing, and gives them to
/// the policy's expressions as `exceptions.allowedImages` and `exceptions.allowedValues`.
#[derive(Debug)]
pub(crate) struct KyvernoTerms {
    pub conditions: Vec<(String, Expr)>,
    pub images: Vec<String>,
    pub values: Vec<String>,
}

impl KyvernoTerms {
    /// Whether it exempts (rather than allowing images or values).
    pub(crate) fn exempts(&self) -> bool {
        self.images.is_empty() && self.values.is_empty()
    }
}

/// The annotations that give a Kyverno PolicyException what paved requires of an exception.
const KYVERNO_TERMS: &str = "annotate it: `paved.dev/owner` (who answers for it), `paved.dev/reason` (why), \
     `paved.dev/expires` (a date or RFC 3339 date-time); optionally `paved.dev/created`, \
     `paved.dev/ticket` and `paved.dev/approved-by`";

/// Whether a list of globs takes in every name: empty, or only `*`.
fn all(list: &[String]) -> bool {
    list.iter().all(|g| g == "*")
}

/// Whether optional include/exclude globs take in every name.
fn all_globs(globs: Option<&crate::model::Globs>) -> bool {
    match globs {
        None => true,
        Some(crate::model::Globs::Include(list)) => all(list),
        Some(crate::model::Globs::Both { include, exclude }) => all(include) && exclude.is_empty(),
    }
}

/// Parses an RFC 3339 date-time with an offset (`2026-12-31T18:00:00Z`,
/// `2026-12-31T18:00:00+01:00`), or a date alone (`2026-12-31`, meaning 00:00 UTC that day).
/// Anything else, a date-time without an offset included, is an error that shows these forms:
/// guessing the time zone, or dropping the time, would move an expiry silently.
pub(crate) fn parse_instant(s: &str) -> Result<Timestamp, String> {
    let forms = "write a date (2026-12-31, meaning 00:00 UTC) or an RFC 3339 date-time with an offset (2026-12-31T18:00:00Z, 2026-12-31T18:00:00+01:00)";
    let is_date = |d: &str| {
        d.len() == 10
            && d.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() })
    };
    if is_date(s) {
        return s
            .parse::<Date>()
            .ok()
            .and_then(|d| d.to_zoned(TimeZone::UTC).ok())
            .map(|z| z.timestamp())
            .ok_or_else(|| format!("`{s}` is not a date: {forms}"));
    }
    let (date, rest) = s.split_at_checked(10).unwrap_or((s, ""));
    let time = rest.strip_prefix(['T', 't']);
    let has_offset = rest.ends_with(['Z', 'z']) || rest.contains(['+', '-']);
    match (is_date(date), time, has_offset) {
        (true, Some(_), true) => {
            s.parse::<Timestamp>().map_err(|e| format!("`{s}` is not an RFC 3339 date-time ({e}): {forms}"))
        }
        (true, _, false) if !rest.is_empty() => {
            Err(format!("`{s}` has no offset, so it could mean any time zone: {forms}"))
        }
        _ => Err(format!("`{s}` is not an RFC 3339 date or date-time: {forms}")),
    }
}

fn days(n: u32) -> SignedDuration {
    SignedDuration::from_hours(i64::from(n) * 24)
}

impl Exception {
    pub(crate) fn compile(
        doc: &ExceptionDocument,
        origin: &Origin,
        settings: &BundleSpec,
    ) -> Result<Self, Vec<Diagnostic>> {
        let mut diags = Vec::new();
        let at = |p: &str, m: String, h: Option<String>| origin.diagnostic(p, m, h);
        let spec = &doc.spec;
        for (field, value) in [("owner", &spec.owner), ("reason", &spec.reason)] {
            if value.trim().is_empty() {
                diags.push(at(&format!("/spec/{field}"), format!("`{field}` must not be empty"), None));
            }
        }
        if spec.policies.is_empty() {
            diags.push(at("/spec/policies", "an exception must name at least one policy".into(), None));
        }
        let expires = parse_instant(&spec.expires).map_err(|e| diags.push(at("/spec/expires", e, None))).ok();
        let created = spec
            .created
            .as_deref()
            .and_then(|c| parse_instant(c).map_err(|e| diags.push(at("/spec/created", e, None))).ok());
        if let (Some(c), Some(e)) = (created, expires) {
            if e <= c {
                diags.push(at("/spec/expires", "`expires` is not after `created`".into(), None));
            } else if e.duration_since(c) > days(settings.exception_max_days) {
                diags.push(at(
                    "/spec/expires",
                    format!(
                        "the exception runs {} days from `created`; the bundle allows at most {}",
                        e.duration_since(c).as_hours() / 24,
                        settings.exception_max_days
                    ),
                    Some("shorten it, and renew it when it lapses if it is still needed".into()),
                ));
            }
        }
        let m = &spec.match_;
        let scope = Match {
            kinds: m.kinds.clone(),
            namespaces: m.namespaces.clone(),
            names: m.names.clone(),
            ..Match::default()
        };
        let selector = Selector::new(&scope)
            .map_err(|errs| errs.into_iter().for_each(|(p, e)| diags.push(at(&format!("/spec/match{p}"), e, None))))
            .unwrap_or_default();
        let containers = GlobFilter::from_list(&m.containers)
            .map_err(|e| diags.push(at("/spec/match/containers", e, None)))
            .unwrap_or_default();
        match expires {
            Some(expires) if diags.is_empty() => Ok(Exception {
                name: doc.metadata.name.clone(),
                owner: spec.owner.clone(),
                reason: spec.reason.clone(),
                ticket: spec.ticket.clone(),
                approved_by: spec.approved_by.clone(),
                created,
                expires,
                policies: spec.policies.iter().map(|p| (p.name.clone(), p.rules.clone())).collect(),
                selector,
                containers,
                everything: all(&m.kinds)
                    && all_globs(m.namespaces.as_ref())
                    && all_globs(m.names.as_ref())
                    && all(&m.containers),
                kyverno: None,
                origin: origin.clone(),
            }),
            _ => Err(diags),
        }
    }

    /// The first instant after `now` at which what it waives can change: its `created` (it is
    /// invalid before), its `expires`.
    pub(crate) fn next_change(&self, now: Timestamp) -> Option<Timestamp> {
        [self.created, Some(self.expires)].into_iter().flatten().filter(|t| *t > now).min()
    }

    /// Whether the exception can waive anything at `now`, and if not, why.
    pub(crate) fn standing(&self, now: Timestamp, settings: &BundleSpec) -> Result<(), ExceptionStatus> {
        self.problem(now, settings).map_or(Ok(()), |(status, _)| Err(status))
    }

    /// Why the exception waives nothing at `now`, judged by the platform's `settings`: expired,
    /// or invalid (a window longer than the platform allows, `created` in the future).
    pub(crate) fn problem(&self, now: Timestamp, settings: &BundleSpec) -> Option<(ExceptionStatus, String)> {
        let max = settings.exception_max_days;
        if now >= self.expires {
            return Some((ExceptionStatus::Expired, format!("it expired at {}", self.expires)));
        }
        let (from, what) = match self.created {
            Some(created) if created > now => {
                return Some((
                    ExceptionStatus::Invalid,
                    format!("its `created` ({created}) is later than now ({now}): it cannot have been approved yet"),
                ))
            }
            Some(created) => (created, "from `created`"),
            None => (now, "from now (it has no `created`)"),
        };
        let runs = self.expires.duration_since(from);
        (runs > days(max)).then(|| {
            (
                ExceptionStatus::Invalid,
                format!("it runs {} days {what}; the platform allows at most {max}", runs.as_hours() / 24),
            )
        })
    }

    /// The status after a run in which it waived `waived` findings (`None`: no run, only the
    /// dates count).
    pub(crate) fn status(&self, now: Timestamp, settings: &BundleSpec, waived: Option<usize>) -> ExceptionStatus {
        match self.standing(now, settings) {
            Err(s) => s,
            Ok(()) if waived == Some(0) => ExceptionStatus::Unused,
            Ok(()) if self.expires.duration_since(now) <= days(settings.exception_warn_days) => {
                ExceptionStatus::Expiring
            }
            Ok(()) => ExceptionStatus::Active,
        }
    }

    /// A Kyverno PolicyException: its owner, reason and dates from `paved.dev/` annotations
    /// (it is refused without them), its policies by name, its match conditions compiled as the
    /// policies' expressions are.
    pub(crate) fn from_kyverno(
        doc: &KyvernoExceptionDocument,
        origin: &Origin,
        settings: &BundleSpec,
        functions: &[crate::cel::Function],
    ) -> Result<Self, Vec<Diagnostic>> {
        let mut diags = Vec::new();
        let notes = &doc.metadata.annotations;
        let note = |key: &str| notes.get(&format!("paved.dev/{key}")).cloned();
        let at = if notes.is_empty() { "/metadata" } else { "/metadata/annotations" };
        for key in ["owner", "reason", "expires"].into_iter().filter(|k| note(k).is_none()) {
            let message = format!(
                "a Kyverno PolicyException needs the annotation `paved.dev/{key}`: paved waives nothing without an owner, a reason and an expiry"
            );
            diags.push(origin.diagnostic(at, message, Some(KYVERNO_TERMS.into())));
        }
        if doc.spec.policy_refs.is_empty() {
            diags.push(origin.diagnostic("/spec/policyRefs", "name at least one policy in `policyRefs`", None));
        }
        for (i, r) in doc.spec.policy_refs.iter().enumerate() {
            let kinds = ["ValidatingPolicy", "NamespacedValidatingPolicy"];
            if !kinds.contains(&r.kind.as_str()) {
                let at = format!("/spec/policyRefs/{i}/kind");
                diags.push(origin.diagnostic(&at, crate::compile::resources::one_of(&r.kind, &kinds), None));
            }
        }
        let scope =
            Scope { for_each: false, variables: &[], functions, params: &crate::cel::Ty::Dyn, form: Form::Kyverno };
        let mut conditions = Vec::new();
        for (i, c) in doc.spec.match_conditions.iter().enumerate() {
            match expr::compile(&c.expression, &scope, crate::cel::Want::Bool) {
                Ok((_, e)) => conditions.push((c.name.clone(), e)),
                Err((m, h)) => diags.push(origin.diagnostic(&format!("/spec/matchConditions/{i}/expression"), m, h)),
            }
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        let annotation = |key: &str| format!("/metadata/annotations/paved.dev~1{key}");
        let renames = ["owner", "reason", "expires", "created", "ticket"]
            .map(|k| (format!("/spec/{k}"), annotation(k)))
            .into_iter()
            .chain([("/spec/policies".to_owned(), "/spec/policyRefs".to_owned())])
            .collect();
        let paved = ExceptionDocument {
            api_version: doc.api_version.clone(),
            kind: doc.kind.clone(),
            metadata: Metadata {
                name: doc.metadata.name.clone(),
                namespace: None,
                version: None,
                labels: std::collections::BTreeMap::new(),
                annotations: std::collections::BTreeMap::new(),
            },
            spec: ExceptionSpec {
                policies: doc
                    .spec
                    .policy_refs
                    .iter()
                    .map(|r| WaivedPolicy { name: r.name.clone(), rules: Vec::new() })
                    .collect(),
                match_: ExceptionMatch::default(),
                owner: note("owner").unwrap_or_default(),
                reason: note("reason").unwrap_or_default(),
                ticket: note("ticket"),
                approved_by: note("approved-by"),
                created: note("created"),
                expires: note("expires").unwrap_or_default(),
            },
        };
        let mut e = Exception::compile(&paved, &origin.renamed(renames), settings)?;
        e.kyverno =
            Some(KyvernoTerms { conditions, images: doc.spec.images.clone(), values: doc.spec.allowed_values.clone() });
        Ok(e)
    }

    /// Whether its `match` takes in every resource and container.
    pub(crate) fn matches_everything(&self) -> bool {
        self.everything
    }

    /// Whether its kinds, namespaces and names take in a resource (or the pods it makes).
    pub(crate) fn selects(&self, r: &crate::k8s::ResourceRef) -> bool {
        let (group, version) = crate::k8s::split_api_version(&r.api_version);
        (self.selector.matches_kind(group, version, &r.kind) || self.selector.matches_kind("", "v1", "Pod"))
            && self.selector.matches_rest(
                &Subject {
                    group,
                    version,
                    kind: &r.kind,
                    namespace: &r.namespace,
                    name: &r.name,
                    labels: None,
                    generated: false,
                },
                Operation::Create,
                None,
            )
    }

    /// Whether it covers a finding of `policy`/`rule` on a resource. A Kyverno exception's
    /// conditions are judged where the resource is evaluated, so it covers nothing here.
    pub(crate) fn covers(&self, f: &Target<'_>) -> bool {
        self.kyverno.is_none()
            && self
                .policies
                .iter()
                .any(|(p, rules)| p == f.policy && (rules.is_empty() || rules.iter().any(|r| r == f.rule)))
            && (self.selector.matches_kind(f.group, f.version, f.kind)
                || (f.via_template && self.selector.matches_kind("", "v1", "Pod")))
            && self.selector.matches_rest(
                &Subject {
                    group: f.group,
                    version: f.version,
                    kind: f.kind,
                    namespace: f.namespace,
                    name: f.name,
                    labels: None,
                    generated: f.via_template,
                },
                Operation::Create,
                None,
            )
            && (self.containers.is_empty() || f.container.is_some_and(|c| self.containers.matches(c)))
    }
}

/// What an exception is matched against.
pub(crate) struct Target<'a> {
    pub policy: &'a str,
    pub rule: &'a str,
    pub group: &'a str,
    pub version: &'a str,
    pub kind: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub container: Option<&'a str>,
    pub via_template: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_mean_midnight_utc() {
        assert_eq!(parse_instant("2026-12-01").unwrap(), "2026-12-01T00:00:00Z".parse::<Timestamp>().unwrap());
        assert!(parse_instant("next tuesday").is_err());
    }
}
