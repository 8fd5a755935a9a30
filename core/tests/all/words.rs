//! Every public enum of words names its values one way: `as_str`, `Display`, `FromStr` and
//! the JSON contract agree, and a misspelt word is refused with the closest one.

use std::fmt::{Debug, Display};
use std::str::FromStr;

use paved::golden::{ChangeKind, DeviationKind, Disposition, FieldOutcome, Lag, Prefer};
use paved::{Action, Decision, ErrorKind, ExceptionStatus, Format, Outcome, Severity};
use serde::Serialize;

fn agree<T>(all: &[T])
where
    T: Serialize + Display + FromStr<Err = paved::Error> + Copy + Debug + PartialEq,
{
    assert!(!all.is_empty());
    for v in all {
        assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(v.to_string()), "{v:?}");
        assert_eq!(v.to_string().parse::<T>().unwrap(), *v);
    }
}

#[test]
fn words_agree_with_the_json_contract() {
    agree(Severity::ALL);
    agree(Action::ALL);
    agree(Decision::ALL);
    agree(ErrorKind::ALL);
    agree(ExceptionStatus::ALL);
    agree(Outcome::ALL);
    agree(Lag::ALL);
    agree(DeviationKind::ALL);
    agree(ChangeKind::ALL);
    agree(Prefer::ALL);
    agree(FieldOutcome::ALL);
    agree(Disposition::ALL);
    assert_eq!(
        Format::ALL.iter().map(|f| f.to_string()).collect::<Vec<_>>().join(" "),
        "human json sarif junit github policy-report code-quality"
    );
    assert_eq!("policy-report".parse::<Format>().unwrap(), Format::PolicyReport);
}

#[test]
fn a_misspelt_word_is_refused_with_the_closest() {
    let e = "critcal".parse::<Severity>().unwrap_err().to_string();
    assert_eq!(e, "there is no severity `critcal`; did you mean `critical`?");
    assert!("deny".parse::<Action>().is_err(), "actions are written as Kubernetes writes them: Deny");
}

#[test]
fn errors_say_their_kind_and_diagnostics_serialise_as_the_bindings_give_them() {
    let e = paved::Bundle::from_str("p.yaml", "apiVersion: paved.dev/v1\nkind: Polcy\n").unwrap_err();
    assert_eq!(e.kind(), "invalid");
    let d = serde_json::to_value(&e.diagnostics().unwrap().0[0]).unwrap();
    assert_eq!(d["file"], "p.yaml");
    assert_eq!(d["line"], 2);
    let keys: Vec<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["file", "line", "column", "pointer", "message", "help"]);
    assert!(!e.is_golden_path());
    let e = paved::Bundle::defaults().unwrap().golden_path("no-such-path").unwrap_err();
    assert_eq!((e.kind(), e.is_golden_path()), ("unknown-golden-path", true));
}
