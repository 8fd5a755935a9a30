//! The core's integration tests, one binary.

mod cases;
mod hostile;
mod load_errors;
mod properties;
