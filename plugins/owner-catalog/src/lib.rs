//! Every workload names an owning team that exists: its `team` label (or `label`) must be one
//! of the `teams` of the service catalog given as params. A near miss gets a suggestion.

use paved_pdk::{did_you_mean, export_plugin, json, Error, Finding, Input, Metadata, Plugin};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    teams: Vec<String>,
    #[serde(default = "team")]
    label: String,
}

fn team() -> String {
    "team".into()
}

struct OwnerCatalog;

impl Plugin for OwnerCatalog {
    fn metadata() -> Metadata {
        Metadata::new(
            "owner-catalog",
            env!("CARGO_PKG_VERSION"),
            "Every workload is owned by a team listed in the service catalog.",
        )
        .rule("team-label-missing", "The object carries the team label.")
        .rule("team-unknown", "The team label names a team of the catalog.")
        .params_schema(json!({
            "type": "object",
            "required": ["teams"],
            "additionalProperties": false,
            "properties": {
                "teams": { "type": "array", "minItems": 1, "items": { "type": "string" } },
                "label": { "type": "string" }
            }
        }))
    }

    fn check(input: &Input) -> Result<Vec<Finding>, Error> {
        let p: Params = input.params()?;
        let object = input.object()?;
        let path = format!("/metadata/labels/{}", p.label.replace('~', "~0").replace('/', "~1"));
        let what = format!("{} {}", object.kind, object.metadata.name);
        Ok(match object.metadata.labels.get(&p.label) {
            None => vec![Finding::new(
                "team-label-missing",
                "/metadata/labels",
                format!("{what} has no `{}` label; set it to the owning team", p.label),
            )],
            Some(team) if p.teams.contains(team) => Vec::new(),
            Some(team) => {
                let hint = match did_you_mean(team, p.teams.iter().map(String::as_str)) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("the teams are: {}", p.teams.join(", ")),
                };
                vec![Finding::new(
                    "team-unknown",
                    path,
                    format!("{what} is owned by `{team}`, which is not in the catalog; {hint}"),
                )]
            }
        })
    }
}

export_plugin!(OwnerCatalog);
