#![doc = include_str!("../README.md")]

mod bundle;
mod error;
mod eval;
mod exception;
pub mod golden;
mod load;
pub use load::to_yaml;
pub mod model;
mod packs;
pub mod plugin;
mod report;
mod resource;
mod select;
pub mod suite;

pub use bundle::{Bundle, PolicyInfo, RuleInfo};
pub use error::{did_you_mean, Diagnostic, Diagnostics, Error};
pub use eval::{Context, Engine, EngineBuilder};
pub use exception::{parse_instant, ExceptionStatus};
pub use jiff::Timestamp;
pub use model::{Action, Operation, Outcome, Severity};
pub use packs::{Pack, DEFAULT_PACKS, PACKS};
pub use report::formats;
pub use report::{Decision, ExceptionReport, Finding, Report, ResourceRef, ResourceReport, SourceRef, Summary};
pub use resource::{read_namespace_labels, Resource};
pub use suite::TestSuite;
