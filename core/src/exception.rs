//! Policy exceptions: owned, justified, always expiring waivers.
//!
//! The longest window an exception may run (`exceptionMaxDays`, default 90) counts from its
//! `spec.created` when it has one, checked when the bundle loads. Without `created`, it counts
//! from the evaluation's `now`, the moment the exception is seen: one that expires further away
//! than the window is `invalid` and waives nothing. Both are pure functions of the documents and
//! `now`, so every embedding decides the same.

use jiff::{civil::Date, tz::TimeZone, SignedDuration, Timestamp};

use crate::error::Diagnostic;
use crate::load::Origin;
use crate::model::{BundleSpec, ExceptionDocument, ExceptionStatus, Match, Operation};
use crate::select::{GlobFilter, Selector, Subject};

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
    pub origin: Origin,
}

/// Parses an RFC 3339 timestamp, or a date meaning 00:00 UTC that day.
pub fn parse_instant(s: &str) -> Result<Timestamp, String> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    s.parse::<Date>()
        .ok()
        .and_then(|d| d.to_zoned(TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| format!("`{s}` is not an RFC 3339 date (2026-12-31) or timestamp (2026-12-31T18:00:00Z)"))
}

fn days(n: u32) -> SignedDuration {
    SignedDuration::from_hours(i64::from(n) * 24)
}

impl Exception {
    pub fn compile(doc: &ExceptionDocument, origin: &Origin, settings: &BundleSpec) -> Result<Self, Vec<Diagnostic>> {
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
                origin: origin.clone(),
            }),
            _ => Err(diags),
        }
    }

    /// Whether the exception can waive anything at `now`, and if not, why.
    pub fn standing(&self, now: Timestamp, settings: &BundleSpec) -> Result<(), ExceptionStatus> {
        if now >= self.expires {
            return Err(ExceptionStatus::Expired);
        }
        if self.created.is_none() && self.expires.duration_since(now) > days(settings.exception_max_days) {
            return Err(ExceptionStatus::Invalid);
        }
        Ok(())
    }

    /// The status after a run in which it waived `waived` findings (`None`: no run, only the
    /// dates count).
    pub fn status(&self, now: Timestamp, settings: &BundleSpec, waived: Option<usize>) -> ExceptionStatus {
        match self.standing(now, settings) {
            Err(s) => s,
            Ok(()) if waived == Some(0) => ExceptionStatus::Unused,
            Ok(()) if self.expires.duration_since(now) <= days(settings.exception_warn_days) => {
                ExceptionStatus::Expiring
            }
            Ok(()) => ExceptionStatus::Active,
        }
    }

    /// Whether its kinds, namespaces and names take in a resource (or the pods it makes).
    pub fn selects(&self, r: &crate::model::ResourceRef) -> bool {
        let (group, version) = crate::k8s::split_api_version(&r.api_version);
        (self.selector.matches_kind(group, version, &r.kind) || self.selector.matches_kind("", "v1", "Pod"))
            && self.selector.matches_rest(
                &Subject { namespace: &r.namespace, name: &r.name, labels: None },
                Operation::Create,
                None,
            )
    }

    /// Whether it covers a finding of `policy`/`rule` on a resource.
    pub fn covers(&self, f: &Target<'_>) -> bool {
        self.policies.iter().any(|(p, rules)| p == f.policy && (rules.is_empty() || rules.iter().any(|r| r == f.rule)))
            && (self.selector.matches_kind(f.group, f.version, f.kind)
                || (f.via_template && self.selector.matches_kind("", "v1", "Pod")))
            && self.selector.matches_rest(
                &Subject { namespace: f.namespace, name: f.name, labels: None },
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
