//! Exports `paved:plugin/checker@0.2.0`, a contract version paved 0.1 does not speak.
wit_bindgen::generate!({ path: "wit", world: "plugin" });

use exports::paved::plugin::checker::{Error, Finding, Guest, PluginMetadata};

struct Future;

impl Guest for Future {
    fn metadata() -> PluginMetadata {
        PluginMetadata {
            name: "future-contract".into(),
            version: "0.1.0".into(),
            description: "Speaks a newer contract.".into(),
            rules: Vec::new(),
            params_schema: "{}".into(),
        }
    }

    fn check(_: String, _: String, _: String) -> Result<Vec<Finding>, Error> {
        Ok(Vec::new())
    }
}

export!(Future);
