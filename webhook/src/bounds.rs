//! How the server bounds its work: the evaluations running (capped, each stoppable), each
//! connection's idle time, and the rate of log lines.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the server bounds its connections and their requests (see [`crate::Config`]).
pub(crate) struct Limits {
    pub drain: Duration,
    pub max_connections: usize,
    pub read_timeout: Duration,
    pub keep_alive: Duration,
}

/// The evaluations running: at most so many at once, each with the budget that stops it when
/// its deadline answers or the drain ends, so that no evaluation outlives its answer by more
/// than the few thousand units of cost between two looks at its budget.
pub(crate) struct Running {
    slots: Arc<tokio::sync::Semaphore>,
    pub(crate) max: usize,
    budgets: Budgets,
    next: AtomicU64,
    gauge: prometheus_client::metrics::gauge::Gauge,
}

type Budgets = Arc<Mutex<HashMap<u64, paved::Budget>>>;

/// One running evaluation's place: its slot and its budget, given back when it ends.
pub(crate) struct Ticket {
    budgets: Budgets,
    id: u64,
    gauge: prometheus_client::metrics::gauge::Gauge,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl Running {
    /// Room for `max` evaluations, counted on `gauge`.
    pub(crate) fn new(max: usize, gauge: prometheus_client::metrics::gauge::Gauge) -> Running {
        let max = max.max(1);
        Running {
            slots: Arc::new(tokio::sync::Semaphore::new(max)),
            max,
            budgets: Arc::default(),
            next: AtomicU64::new(0),
            gauge,
        }
    }

    /// A place for an evaluation with `budget`, if one is free.
    pub(crate) fn enter(&self, budget: &paved::Budget) -> Option<Ticket> {
        let slot = Arc::clone(&self.slots).try_acquire_owned().ok()?;
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        lock(&self.budgets).insert(id, budget.clone());
        self.gauge.inc();
        Some(Ticket { budgets: Arc::clone(&self.budgets), id, gauge: self.gauge.clone(), _slot: slot })
    }

    /// Stops every evaluation running.
    pub(crate) fn stop_all(&self) {
        lock(&self.budgets).values().for_each(paved::Budget::stop);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Drop for Ticket {
    fn drop(&mut self) {
        lock(&self.budgets).remove(&self.id);
        self.gauge.dec();
    }
}

/// What a connection has done: requests being answered, and when it was last busy.
pub(crate) struct Activity {
    active: AtomicUsize,
    /// Whether it has answered a request yet.
    served: AtomicBool,
    idle_since: Mutex<Instant>,
}

impl Activity {
    pub(crate) fn new() -> Arc<Activity> {
        Arc::new(Activity {
            active: AtomicUsize::new(0),
            served: AtomicBool::new(false),
            idle_since: Mutex::new(Instant::now()),
        })
    }

    pub(crate) fn begin(self: &Arc<Self>) -> Busy {
        self.active.fetch_add(1, Ordering::Relaxed);
        Busy(Arc::clone(self))
    }

    /// Returns when the connection has had no request for its limit: `read_timeout` before
    /// its first (so a client that never finishes a header block, in HTTP/1.1 or HTTP/2, is
    /// closed), `keep_alive` after its last answer.
    pub(crate) async fn idle(&self, limits: &Limits) {
        loop {
            let limit = if self.served.load(Ordering::Relaxed) { limits.keep_alive } else { limits.read_timeout };
            let since = *lock(&self.idle_since);
            let left = limit.saturating_sub(since.elapsed());
            let busy = self.active.load(Ordering::Relaxed) > 0;
            if !busy && left.is_zero() {
                return;
            }
            tokio::time::sleep(if busy { limit } else { left }).await;
        }
    }
}

/// A request being answered on a connection.
pub(crate) struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        *lock(&self.0.idle_since) = Instant::now();
        self.0.served.store(true, Ordering::Relaxed);
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The most denial and warning lines logged in a second.
const LINES_PER_SECOND: u64 = 100;

/// How many denial and warning lines have been logged this second, and how many were left out.
pub(crate) struct Lines {
    start: Instant,
    second: AtomicU64,
    logged: AtomicU64,
    left_out: AtomicU64,
}

impl Lines {
    pub(crate) fn new() -> Lines {
        Lines {
            start: Instant::now(),
            second: AtomicU64::new(0),
            logged: AtomicU64::new(0),
            left_out: AtomicU64::new(0),
        }
    }

    /// Whether one more line may be logged now; in a new second, first logs how many lines
    /// the last one left out.
    pub(crate) fn take(&self) -> bool {
        let now = self.start.elapsed().as_secs();
        let second = self.second.load(Ordering::Relaxed);
        if now != second && self.second.compare_exchange(second, now, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            self.logged.store(0, Ordering::Relaxed);
            let left_out = self.left_out.swap(0, Ordering::Relaxed);
            if left_out > 0 {
                tracing::info!(
                    left_out,
                    per_second = LINES_PER_SECOND,
                    "admission lines left out (every answer is counted in the metrics)"
                );
            }
        }
        if self.logged.fetch_add(1, Ordering::Relaxed) < LINES_PER_SECOND {
            return true;
        }
        self.left_out.fetch_add(1, Ordering::Relaxed);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_so_many_denial_lines_a_second_are_logged() {
        let lines = Lines::new();
        let logged = (0..250).filter(|_| lines.take()).count();
        assert_eq!(logged, usize::try_from(LINES_PER_SECOND).unwrap_or_default());
        assert_eq!(lines.left_out.load(Ordering::Relaxed), 150);
    }
}
