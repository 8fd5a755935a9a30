"""A Pulumi CrossGuard policy pack that runs paved: `pulumi preview --policy-pack examples/pulumi/python`."""

from pulumi_policy import EnforcementLevel, PolicyPack

from paved_policies import policies

PolicyPack(name="paved", enforcement_level=EnforcementLevel.MANDATORY, policies=policies())
