//! Fixtures shared by paved's benchmarks.

/// A bundle of 23 rules (assert and CEL, most forEach over containers).
pub const BUNDLE: &str = include_str!("../data/bundle.yaml");

/// A realistic production Deployment: an init container and three containers, about 3 KB.
pub const DEPLOYMENT: &str = include_str!("../data/deployment.yaml");
