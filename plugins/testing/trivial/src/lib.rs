//! The least a plugin can do: accept everything. paved's benches use it to measure the cost of
//! a plugin call itself.

use paved_pdk::{export_plugin, Error, Finding, Input, Metadata, Plugin};

struct Trivial;

impl Plugin for Trivial {
    fn metadata() -> Metadata {
        Metadata::new("trivial", "0.1.0", "Accepts every resource.").rule("never", "Never fails.")
    }

    fn check(_: &Input) -> Result<Vec<Finding>, Error> {
        Ok(Vec::new())
    }
}

export_plugin!(Trivial);
