"""paved: policies, exceptions and golden paths for Kubernetes, decided by the same engine as the
``paved`` CLI and admission webhook.

>>> import paved
>>> engine = paved.Engine(packs=["pod-security-baseline"])
>>> pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop"},
...        "spec": {"hostNetwork": True, "containers": [{"name": "app", "image": "nginx:1.27"}]}}
>>> report = engine.check(pod, now="2026-06-01T00:00:00Z")
>>> report.decision
'deny'
>>> report.findings[0].rule
'hostNamespaces'
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from . import _paved
from ._paved import (
    Diagnostic,
    GoldenPathError,
    InputError,
    LoadError,
    NonCompliantError,
    PavedError,
    __version__,
)

__all__ = [
    "Diagnostic",
    "Engine",
    "ExceptionReport",
    "Finding",
    "FindingError",
    "GoldenPathError",
    "InputError",
    "LoadError",
    "NonCompliantError",
    "PavedError",
    "Report",
    "ResourceRef",
    "Source",
    "Summary",
    "conform",
    "outdated",
    "packs",
    "render",
    "upgrade",
    "__version__",
]

#: Kubernetes objects: one dict, a sequence of dicts, or YAML/JSON text (multi-document).
Objects = Union[Mapping[str, Any], Sequence[Mapping[str, Any]], str]
#: A path to a file or directory.
Path = Union[str, "os.PathLike[str]"]
#: An instant: a timezone-aware datetime, or RFC 3339 text (a date means 00:00 UTC).
Instant = Union[datetime.datetime, str]


@dataclass(frozen=True)
class ResourceRef:
    """Which object a finding is about."""

    api_version: str
    kind: str
    namespace: str
    name: str


@dataclass(frozen=True)
class Source:
    """Where in the input an object or field is (for objects given as text)."""

    file: str
    line: int
    column: int


@dataclass(frozen=True)
class FindingError:
    """Why a rule could not be evaluated (it then fails per its policy's failurePolicy)."""

    kind: str
    message: str
    plugin: Optional[str] = None


@dataclass(frozen=True)
class Finding:
    """One failed check."""

    policy: str
    rule: str
    severity: str
    action: str
    message: str
    path: str
    resource: ResourceRef
    source: Optional[Source]
    waived_by: Optional[str]
    error: Optional[FindingError] = None
    help: Optional[str] = None
    detail: Optional[str] = None
    container: Optional[str] = None
    binding: Optional[str] = None
    """For a Kubernetes ValidatingAdmissionPolicy, the binding it applied through."""

    @property
    def unknown(self) -> bool:
        """Whether the check depends on a value known only after apply (a Terraform plan's or a
        Pulumi preview's unknown): neither passed nor failed, and not in the decision."""
        return self.error is not None and self.error.kind == "unknown"


@dataclass(frozen=True)
class ExceptionReport:
    """A policy exception and its standing in a run."""

    name: str
    owner: str
    reason: str
    expires: str
    status: str
    ticket: Optional[str] = None
    approved_by: Optional[str] = None
    problem: Optional[str] = None


@dataclass(frozen=True)
class Summary:
    """Counts of a run."""

    resources: int
    findings: int
    denied: int
    warned: int
    audited: int
    waived: int
    unknown: int = 0
    """Findings known only after apply (a Terraform plan's unknowns): not in the decision."""


def _ref(d: Mapping[str, Any]) -> ResourceRef:
    return ResourceRef(d["apiVersion"], d["kind"], d["namespace"], d["name"])


def _source(d: Optional[Mapping[str, Any]]) -> Optional[Source]:
    return None if d is None else Source(d["file"], d["line"], d["column"])


def _finding(d: Mapping[str, Any]) -> Finding:
    e = d.get("error")
    return Finding(
        policy=d["policy"],
        rule=d["rule"],
        severity=d["severity"],
        action=d["action"],
        message=d["message"],
        path=d["path"],
        resource=_ref(d["resource"]),
        source=_source(d.get("source")),
        waived_by=d.get("waivedBy"),
        error=None if e is None else FindingError(e["kind"], e["message"], e.get("plugin")),
        help=d.get("help"),
        detail=d.get("detail"),
        container=d.get("container"),
        binding=d.get("binding"),
    )


def _exception(d: Mapping[str, Any]) -> ExceptionReport:
    return ExceptionReport(
        name=d["name"],
        owner=d["owner"],
        reason=d["reason"],
        expires=d["expires"],
        status=d["status"],
        ticket=d.get("ticket"),
        approved_by=d.get("approvedBy"),
        problem=d.get("problem"),
    )


class Report:
    """Everything one evaluation found; the same for the same inputs, in any front end."""

    __slots__ = ("_native", "_dict")

    def __init__(self, native: _paved.Report) -> None:
        self._native = native
        self._dict: Optional[Dict[str, Any]] = None

    def _data(self) -> Dict[str, Any]:
        if self._dict is None:
            self._dict = self._native.to_dict()
        return self._dict

    @property
    def decision(self) -> str:
        """``allow``, ``warn`` (unwaived warnings) or ``deny`` (an unwaived Deny finding)."""
        return self._native.decision

    @property
    def findings(self) -> List[Finding]:
        """Failed checks, ordered by resource, then policy, rule and path."""
        return [_finding(f) for f in self._data()["findings"]]

    @property
    def exceptions(self) -> List[ExceptionReport]:
        """Every exception of the engine and its status in this run."""
        return [_exception(e) for e in self._data()["exceptions"]]

    @property
    def patches(self) -> List[Dict[str, Any]]:
        """What the mutations changed before the rules judged: one JSON Patch ``operation`` each,
        with its ``policy``, ``mutation``, ``message``, ``resource`` and ``source``."""
        patches: List[Dict[str, Any]] = self._data().get("patches", [])
        return patches

    @property
    def summary(self) -> Summary:
        """Counts."""
        s = self._data()["summary"]
        return Summary(s["resources"], s["findings"], s["denied"], s["warned"], s["audited"], s["waived"], s["unknown"])

    def to_dict(self) -> Dict[str, Any]:
        """The report as the JSON contract's data (a fresh copy)."""
        return self._native.to_dict()

    def to_json(self, indent: bool = True) -> str:
        """The report as JSON text, byte-identical to ``paved check --format json``."""
        return self._native.to_json(indent)

    def format(self, name: str) -> str:
        """The report as ``sarif``, ``junit``, ``github``, ``policy-report``, ``code-quality``, ``json`` or ``human``."""
        return self._native.format(name)

    def __repr__(self) -> str:
        s = self.summary
        return f"<Report {self.decision}: {s.resources} resources, {s.findings} findings, {s.denied} denied>"


def _complete(inventory_complete: Union[bool, Sequence[str], None]) -> Any:
    """One namespace, or a list of them; anything else goes as it is, and is refused."""
    if isinstance(inventory_complete, str):
        return [inventory_complete]
    if isinstance(inventory_complete, (list, tuple)):
        return list(inventory_complete)
    return inventory_complete


class Engine:
    """Compiled policies, exceptions and plugins; build once, share between threads.

    With neither ``bundle`` nor ``packs``, the default packs run (as ``paved check``).
    ``set`` takes ``{"POLICY.PARAM": value}`` as ``--set`` does, or ``{"POLICY": {params}}``;
    ``plugins`` maps a plugin name to its component's bytes or path.
    """

    __slots__ = ("_native",)

    def __init__(
        self,
        bundle: Union[Path, Sequence[Path], None] = None,
        *,
        packs: Optional[Sequence[str]] = None,
        set: Optional[Mapping[str, Any]] = None,
        exceptions: Union[Path, Sequence[Path], None] = None,
        plugins: Optional[Mapping[str, Union[bytes, Path]]] = None,
    ) -> None:
        self._native = _paved.Engine(
            bundle,
            list(packs) if packs is not None else None,
            dict(set) if set is not None else None,
            exceptions,
            dict(plugins) if plugins is not None else None,
        )

    @classmethod
    def from_yaml(
        cls,
        text: str,
        *,
        set: Optional[Mapping[str, Any]] = None,
        file: str = "bundle.yaml",
        plugins: Optional[Mapping[str, Union[bytes, Path]]] = None,
    ) -> "Engine":
        """An engine from the text of one bundle file (policies, exceptions, settings). Nothing
        is read from disk: the plugins its Bundle declares are given in ``plugins`` (name to
        component bytes or path), and must still match the sha256 the bundle pins."""
        engine = cls.__new__(cls)
        engine._native = _paved.Engine.from_yaml(
            text, dict(set) if set is not None else None, file, dict(plugins) if plugins is not None else None
        )
        return engine

    def check(
        self,
        objects: Objects,
        *,
        now: Optional[Instant] = None,
        operation: str = "CREATE",
        namespaces: Optional[Mapping[str, Mapping[str, str]]] = None,
        user_info: Optional[Mapping[str, Any]] = None,
        namespace: Optional[str] = None,
        inventory: Optional[Objects] = None,
        inventory_complete: Union[bool, Sequence[str], None] = None,
        images: Any = None,
    ) -> Report:
        """Evaluates objects at ``now`` (default: the current time), for ``operation``, with
        ``namespaces``' labels (name to labels) for namespaceSelector, and ``inventory``: other
        objects the policies may look up, complete (``inventory_complete``) for every namespace
        (``True``) or for the namespaces listed. ``images`` are the verdicts on the images
        ``verifyImages`` rules ask about (a list, or what ``paved check
        --record-image-verdicts`` wrote, as read by ``json.load``); an image without one is not
        verified. The GIL is released while it runs; many objects are evaluated on all cores."""
        return Report(
            self._native.check(
                objects,
                now,
                operation,
                dict(namespaces) if namespaces is not None else None,
                user_info,
                namespace,
                inventory,
                _complete(inventory_complete),
                images,
            )
        )

    def mutate(
        self,
        objects: Objects,
        *,
        now: Optional[Instant] = None,
        operation: str = "CREATE",
        namespaces: Optional[Mapping[str, Mapping[str, str]]] = None,
        user_info: Optional[Mapping[str, Any]] = None,
        namespace: Optional[str] = None,
        inventory: Optional[Objects] = None,
        inventory_complete: Union[bool, Sequence[str], None] = None,
        images: Any = None,
    ) -> Tuple[List[Dict[str, Any]], Report]:
        """Mutates objects (as ``check`` takes them), then validates what the mutations made:
        the objects as the mutations left them, in order, and the report, whose ``patches`` say
        what changed and why. The objects given are not changed."""
        mutated, report = self._native.mutate(
            objects,
            now,
            operation,
            dict(namespaces) if namespaces is not None else None,
            user_info,
            namespace,
            inventory,
            _complete(inventory_complete),
            images,
        )
        return mutated, Report(report)

    def image_requests(self, objects: Objects) -> List[Dict[str, Any]]:
        """The images of ``objects`` that ``verifyImages`` rules ask to be verified, with the
        keys, identities and attestations each asks: verify them (``paved check
        --record-image-verdicts`` does) and give the verdicts as ``images``."""
        result: List[Dict[str, Any]] = self._native.image_requests(objects)
        return result

    def admit(self, review: Mapping[str, Any], *, now: Optional[Instant] = None) -> Dict[str, Any]:
        """Answers an ``admission.k8s.io/v1`` AdmissionReview with the AdmissionReview response,
        as the webhook does; a review with a uid that cannot be judged is denied, saying why."""
        result: Dict[str, Any] = self._native.admit(review, now)
        return result

    def policies(self) -> List[Dict[str, Any]]:
        """What each policy is and checks, sorted by name."""
        result: List[Dict[str, Any]] = self._native.policies()
        return result

    def exceptions(self, now: Optional[Instant] = None) -> List[ExceptionReport]:
        """Every exception and its standing at ``now``, without evaluating anything."""
        return [_exception(e) for e in self._native.exceptions(now)]


def render(golden_path: str, inputs: Mapping[str, Any], bundle: Optional[Path] = None) -> List[Dict[str, Any]]:
    """Renders ``NAME`` or ``NAME@RANGE`` with ``inputs``: the manifests. Inputs the golden path
    does not accept raise ``InputError`` (every problem in ``diagnostics``); a render its own
    policies deny raises ``NonCompliantError`` (its ``report``)."""
    result: List[Dict[str, Any]] = _paved.render(golden_path, inputs, os.fspath(bundle) if bundle is not None else None)
    return result


def conform(objects: Objects, bundle: Optional[Path] = None, now: Optional[Instant] = None) -> Dict[str, Any]:
    """Drift and extensions of live objects against what their golden path renders."""
    result: Dict[str, Any] = _paved.conform(objects, os.fspath(bundle) if bundle is not None else None, now)
    return result


def upgrade(from_: str, inputs: Mapping[str, Any], to: str = "*", bundle: Optional[Path] = None) -> Dict[str, Any]:
    """A service's inputs moved from ``NAME@VERSION`` to the highest version ``to`` allows, with
    what changes in the rendered objects."""
    result: Dict[str, Any] = _paved.upgrade(from_, inputs, to, os.fspath(bundle) if bundle is not None else None)
    return result


def outdated(objects: Objects, bundle: Optional[Path] = None, now: Optional[Instant] = None) -> Dict[str, Any]:
    """Which golden path version every service is on, how far behind, and adoption."""
    result: Dict[str, Any] = _paved.outdated(objects, os.fspath(bundle) if bundle is not None else None, now)
    return result


def packs() -> List[Dict[str, Any]]:
    """The built-in packs: name, description, and whether they run by default."""
    result: List[Dict[str, Any]] = _paved.packs()
    return result
