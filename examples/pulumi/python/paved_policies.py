"""paved's verdicts as Pulumi CrossGuard policies, for the Kubernetes resources of a Pulumi
program (``kubernetes:apps/v1:Deployment`` and friends) and its cloud resources
(``aws:s3/bucketPolicy:BucketPolicy`` and friends).

Each Kubernetes resource's inputs are the Kubernetes object it will create; each cloud resource
is the document ``paved check`` makes of a ``pulumi preview --json`` step (``pulumi/<package>``,
its type token as kind, its inputs as ``values``), with Pulumi's unknown values unknown. paved
checks them with the engine the CLI and the webhook run (the default packs, or the bundle named
by ``PAVED_BUNDLE``). Unwaived Deny findings are reported by the mandatory policy ``paved-deny``
(the preview or update fails), Warn findings by the advisory ``paved-warn``. A check that reads a
value known only after the update is neither: it is reported only when
``PAVED_FAIL_ON_UNKNOWN`` is set, as ``paved check --fail-on unknown`` does.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Dict, List, Optional

import paved
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

_ENGINE: Optional[paved.Engine] = None


def engine() -> paved.Engine:
    """The engine, built once: the bundle at ``PAVED_BUNDLE``, else the default packs."""
    global _ENGINE
    if _ENGINE is None:
        bundle = os.environ.get("PAVED_BUNDLE")
        _ENGINE = paved.Engine(bundle) if bundle else paved.Engine()
    return _ENGINE


def kubernetes_object(args: ResourceValidationArgs) -> Optional[Dict[str, Any]]:
    """The Kubernetes object a Pulumi resource stands for; ``None`` for anything else (other
    providers, the Kubernetes provider itself, Helm releases and YAML groups, whose objects are
    resources of their own)."""
    parts = args.resource_type.split(":")
    if len(parts) != 3 or parts[0] != "kubernetes" or "/" not in parts[1]:
        return None
    group, version = parts[1].split("/", 1)
    kind = parts[2]
    if group in ("helm.sh", "yaml", "kustomize") or kind.endswith("List") or kind.endswith("Patch"):
        return None
    api_version = version if group == "core" else f"{group}/{version}"
    obj: Dict[str, Any] = dict(args.props)
    obj["apiVersion"], obj["kind"] = api_version, kind
    metadata = dict(obj.get("metadata") or {})
    # Pulumi names objects after the resource (with a random suffix) when the program does not.
    metadata.setdefault("name", args.name)
    obj["metadata"] = metadata
    return obj


def cloud_document(args: ResourceValidationArgs) -> Optional[Dict[str, Any]]:
    """A cloud resource as one step of a preview, which paved reads as ``paved check`` reads
    ``pulumi preview --json``; ``None`` for the stack, components and providers."""
    if args.resource_type.startswith(("pulumi:", "kubernetes:")) or args.resource_type.count(":") != 2:
        return None
    state = {"urn": args.urn, "custom": True, "type": args.resource_type, "inputs": plain(args.props)}
    return {"steps": [{"op": "create", "urn": args.urn, "newState": state}]}


def plain(value: Any) -> Any:
    """Pulumi's inputs as plain JSON: CrossGuard's proxies (which raise on an unknown value)
    unwrapped, and its unknown values left as the sentinel strings paved reads as unknown."""
    if isinstance(value, Mapping):
        try:
            value = value["__target"]
        except KeyError:
            pass
        return {str(k): plain(value[k]) for k in value}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        target = getattr(value, "_ListProxy__target", None)
        value = value if target is None else target
        return [plain(v) for v in value]
    return value


def _report(args: ResourceValidationArgs, report_violation: ReportViolation, action: str) -> None:
    obj = kubernetes_object(args) or cloud_document(args)
    if obj is None:
        return
    unknown_fails = action == "Deny" and bool(os.environ.get("PAVED_FAIL_ON_UNKNOWN"))
    for f in engine().check(obj).findings:
        if f.waived_by is not None or (f.unknown and not unknown_fails):
            continue
        if f.action == action or (f.unknown and unknown_fails):
            at = f" (at {f.path})" if f.path else ""
            report_violation(f"{f.policy}/{f.rule}: {f.message}{at}", args.urn)


def validate_deny(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Reports every unwaived Deny finding."""
    _report(args, report_violation, "Deny")


def validate_warn(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Reports every unwaived Warn finding."""
    _report(args, report_violation, "Warn")


def policies() -> List[Policy]:
    """The pack's policies."""
    return [
        ResourceValidationPolicy(
            name="paved-deny",
            description="Kubernetes objects and cloud resources pass paved's policies",
            validate=validate_deny,
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
        ResourceValidationPolicy(
            name="paved-warn",
            description="Kubernetes objects and cloud resources heed paved's warnings",
            validate=validate_warn,
            enforcement_level=EnforcementLevel.ADVISORY,
        ),
    ]
