//! An evaluation's budget, shared by every expression and rule of one evaluation: the CEL cost
//! it may spend in total, and a flag its caller sets to stop it (the webhook sets it when a
//! request's deadline has answered, so that the work stops too).

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use super::value::Error;

/// What one evaluation may spend, and a way to stop it from another thread.
///
/// Each expression has its own cost limit (Kubernetes' per-expression runtime limit) and each
/// plugin call its own fuel; a budget bounds a whole evaluation, every rule and `forEach` item
/// of every resource together: the CEL cost, and the fuel of plugin calls. Expressions check it
/// as they run (every few thousand units of cost), a plugin call every few milliseconds, rules
/// and items before each starts; once it is spent or stopped, what had not run is reported as a
/// rule that could not be evaluated (`deadline`, `cost` or `fuel`), which its failure policy
/// decides. The engine reads no clock: a caller with a deadline calls [`Budget::stop`] when it
/// passes.
///
/// ```
/// let budget = paved::Budget::new().cost_limit(5_000_000).fuel_limit(100_000_000);
/// let stopper = budget.clone();
/// let ctx = paved::Context::parse_at("2026-06-01")?.budget(budget);
/// stopper.stop(); // from any thread: the evaluation stops within a few thousand units of cost
/// assert!(ctx.budget.as_ref().is_some_and(paved::Budget::is_stopped));
/// # Ok::<(), paved::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Budget(Arc<State>);

#[derive(Default)]
struct State {
    stopped: AtomicBool,
    /// The most the evaluation's expressions may cost together; `None`: no limit.
    limit: Option<u64>,
    spent: AtomicU64,
    /// The most fuel the evaluation's plugin calls may burn together; `None`: no limit.
    fuel_limit: Option<u64>,
    fuel: AtomicU64,
}

impl Budget {
    /// A budget with no limit on cost, only the stop flag.
    pub fn new() -> Budget {
        Budget::default()
    }

    /// This budget with `limit` units of CEL cost for the whole evaluation (set it before the
    /// evaluation starts: what was spent starts again from zero).
    #[must_use]
    pub fn cost_limit(self, limit: u64) -> Budget {
        Budget(Arc::new(State { limit: Some(limit), fuel_limit: self.0.fuel_limit, ..State::default() }))
    }

    /// This budget with `limit` units of fuel for all the evaluation's plugin calls together
    /// (set it before the evaluation starts: what was spent starts again from zero).
    #[must_use]
    pub fn fuel_limit(self, limit: u64) -> Budget {
        Budget(Arc::new(State { fuel_limit: Some(limit), limit: self.0.limit, ..State::default() }))
    }

    /// Stops the evaluations that use this budget, from any thread.
    pub fn stop(&self) {
        self.0.stopped.store(true, Ordering::Relaxed);
    }

    /// Whether [`Budget::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.0.stopped.load(Ordering::Relaxed)
    }

    /// The CEL cost spent so far.
    pub fn spent(&self) -> u64 {
        self.0.spent.load(Ordering::Relaxed)
    }

    /// The plugin fuel burnt so far.
    pub fn fuel_spent(&self) -> u64 {
        self.0.fuel.load(Ordering::Relaxed)
    }

    /// The fuel a plugin call may still burn, if the budget limits it.
    #[cfg(feature = "plugins")]
    pub(crate) fn fuel_left(&self) -> Option<u64> {
        self.0.fuel_limit.map(|limit| limit.saturating_sub(self.fuel_spent()))
    }

    /// Adds what a plugin call burnt.
    #[cfg(feature = "plugins")]
    pub(crate) fn burn(&self, fuel: u64) {
        self.0.fuel.fetch_add(fuel, Ordering::Relaxed);
    }

    /// Why nothing more may run, if so.
    pub(crate) fn exhausted(&self) -> Option<Error> {
        if self.is_stopped() {
            return Some(Error::stopped());
        }
        let limit = self.0.limit?;
        (self.spent() > limit).then(|| Error::spent(limit))
    }

    /// Adds `cost` to what was spent; an error when nothing more may run.
    pub(crate) fn spend(&self, cost: u64) -> Result<(), Error> {
        self.0.spent.fetch_add(cost, Ordering::Relaxed);
        self.exhausted().map_or(Ok(()), Err)
    }
}

impl fmt::Debug for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Budget")
            .field("stopped", &self.is_stopped())
            .field("limit", &self.0.limit)
            .field("spent", &self.spent())
            .field("fuel_limit", &self.0.fuel_limit)
            .field("fuel_spent", &self.fuel_spent())
            .finish()
    }
}
