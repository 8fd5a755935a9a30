//! Built-in policy packs, embedded into the library (and so into every binary and binding).
//! They are ordinary paved YAML under `packs/`: no rule is special-cased in Rust.

use crate::error::{did_you_mean, Error};

/// A built-in pack: a name, what it is for, and its policy files.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pack {
    /// The name used with `--pack` and in a bundle's `spec.packs`.
    pub name: &'static str,
    /// What it checks.
    pub description: &'static str,
    files: &'static [(&'static str, &'static str)],
    tests: &'static [(&'static str, &'static str)],
}

const BASELINE: (&str, &str) =
    ("packs/pod-security-baseline.yaml", include_str!("../../../packs/pod-security-baseline.yaml"));
const RESTRICTED: (&str, &str) =
    ("packs/pod-security-restricted.yaml", include_str!("../../../packs/pod-security-restricted.yaml"));
const PLATFORM: (&str, &str) = ("packs/platform-baseline.yaml", include_str!("../../../packs/platform-baseline.yaml"));
const SCHEMA: (&str, &str) = ("packs/kubernetes-schema.yaml", include_str!("../../../packs/kubernetes-schema.yaml"));
const SCHEMA_TESTS: (&str, &str) =
    ("packs/tests/kubernetes-schema.test.yaml", include_str!("../../../packs/tests/kubernetes-schema.test.yaml"));
const BASELINE_TESTS: (&str, &str) = (
    "packs/tests/pod-security-baseline.test.yaml",
    include_str!("../../../packs/tests/pod-security-baseline.test.yaml"),
);
const RESTRICTED_TESTS: (&str, &str) = (
    "packs/tests/pod-security-restricted.test.yaml",
    include_str!("../../../packs/tests/pod-security-restricted.test.yaml"),
);
const TERRAFORM: (&str, &str) =
    ("packs/terraform-baseline.yaml", include_str!("../../../packs/terraform-baseline.yaml"));
const TERRAFORM_TESTS: (&str, &str) =
    ("packs/tests/terraform-baseline.test.yaml", include_str!("../../../packs/tests/terraform-baseline.test.yaml"));
const COST: (&str, &str) = ("packs/cost.yaml", include_str!("../../../packs/cost.yaml"));
const COST_TESTS: (&str, &str) = ("packs/tests/cost.test.yaml", include_str!("../../../packs/tests/cost.test.yaml"));
const PLATFORM_TESTS: (&str, &str) =
    ("packs/tests/platform-baseline.test.yaml", include_str!("../../../packs/tests/platform-baseline.test.yaml"));

/// Every built-in pack.
pub(crate) const PACKS: &[Pack] = &[
    Pack {
        name: "cost",
        description: "What a change adds to the monthly bill (Terraform instances and databases from the price table, Kubernetes requests at per-core and per-GiB rates), per owner, against budgets",
        files: &[COST],
        tests: &[COST_TESTS],
    },
    Pack {
        name: "kubernetes-schema",
        description:
            "Kubernetes' own schemas: served kinds and apiVersions, fields as kubectl --validate=strict checks them",
        files: &[SCHEMA],
        tests: &[SCHEMA_TESTS],
    },
    Pack {
        name: "platform-baseline",
        description: "Self-service guard rails: sized, pinned, probed, owned and safely exposed workloads",
        files: &[PLATFORM],
        tests: &[PLATFORM_TESTS],
    },
    Pack {
        name: "pod-security-baseline",
        description: "Kubernetes Pod Security Standards, baseline level (agrees with Pod Security Admission)",
        files: &[BASELINE],
        tests: &[BASELINE_TESTS],
    },
    Pack {
        name: "pod-security-restricted",
        description: "Kubernetes Pod Security Standards, restricted level (includes baseline)",
        files: &[BASELINE, RESTRICTED],
        tests: &[BASELINE_TESTS, RESTRICTED_TESTS],
    },
    Pack {
        name: "terraform-baseline",
        description: "Cloud resources in Terraform plans: nothing public by accident, encrypted, tagged with an owner, sized for their environment (AWS first, Google Cloud and Azure)",
        files: &[TERRAFORM],
        tests: &[TERRAFORM_TESTS],
    },
];

/// The packs `paved check` runs when it is given no bundle and no pack.
pub(crate) const DEFAULT_PACKS: &[&str] = &["kubernetes-schema", "pod-security-baseline", "platform-baseline"];

impl Pack {
    /// Finds a built-in pack by name.
    pub(crate) fn named(name: &str) -> Result<&'static Pack, Error> {
        PACKS.iter().find(|p| p.name == name).ok_or_else(|| Error::UnknownPack {
            name: name.to_owned(),
            suggestion: did_you_mean(name, PACKS.iter().map(|p| p.name)).map(str::to_owned),
        })
    }

    /// The pack's policy files: `(file name, text)`.
    pub(crate) fn files(&self) -> &'static [(&'static str, &'static str)] {
        self.files
    }

    /// The pack's own tests (`packs/tests/`): every rule has a case that passes and one that
    /// fails, which `paved explain` shows as its examples.
    pub(crate) fn tests(&self) -> &'static [(&'static str, &'static str)] {
        self.tests
    }
}
