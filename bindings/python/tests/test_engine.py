"""The Python API: engines, checks, reports, formats, admission, errors, threads."""

from __future__ import annotations

import datetime
import json
import pathlib
import threading
from typing import Any, Dict, List

import pytest

import paved
from conftest import NOW, ROOT, cli_report, denials

PRIVILEGED: Dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"containers": [{"name": "app", "image": "nginx:1.27", "securityContext": {"privileged": True}}]},
}

TEAM_LABEL = """
apiVersion: paved.dev/v1
kind: Policy
metadata: { name: team-label, version: 1.0.0 }
spec:
  severity: high
  match: { kinds: [Pod] }
  rules:
    - id: team
      message: pods need a team label
      cel: "has(object.metadata.labels) && 'team' in object.metadata.labels"
"""


def test_a_dict_a_list_and_text_are_checked_alike() -> None:
    engine = paved.Engine(packs=["pod-security-baseline"])
    one = engine.check(PRIVILEGED, now=NOW)
    many = engine.check([PRIVILEGED, PRIVILEGED], now=NOW)
    text = engine.check(json.dumps(PRIVILEGED), now=NOW)
    assert one.decision == many.decision == text.decision == "deny"
    assert [f.rule for f in one.findings] == ["privileged"]
    assert many.summary.resources == 2 and many.summary.denied == 2
    f = one.findings[0]
    assert (f.policy, f.severity, f.action) == ("pod-security-baseline", "high", "Deny")
    assert f.path == "/spec/containers/0/securityContext/privileged"
    assert f.resource == paved.ResourceRef("v1", "Pod", "shop", "web")
    assert f.source is None
    source = text.findings[0].source
    assert source is not None and (source.file, source.line) == ("<input>", 1)
    assert f.waived_by is None and f.error is None and f.help
    assert repr(one) == "<Report deny: 1 resources, 1 findings, 1 denied>"


def test_the_report_is_the_clis_report(tmp_path: pathlib.Path) -> None:
    manifests = ROOT / "examples" / "manifests"
    bundle = ROOT / "examples" / "bundle"
    engine = paved.Engine(bundle)
    for path in sorted(manifests.iterdir()):
        report = engine.check(path.read_text(), now=NOW)
        expected = cli_report(["--bundle", str(bundle), "--now", NOW, str(path)])
        got = json.loads(report.to_json())
        # The CLI names the file; text given to check() is "<input>".
        for finding in expected["findings"] + expected["resources"]:
            if finding.get("source"):
                finding["source"]["file"] = "<input>"
        assert got == expected, path.name
    assert report.to_dict() == json.loads(report.to_json(indent=False))


def test_formats() -> None:
    report = paved.Engine(packs=["pod-security-baseline"]).check(json.dumps(PRIVILEGED), now=NOW)
    sarif = json.loads(report.format("sarif"))
    assert sarif["version"] == "2.1.0"
    assert sarif["runs"][0]["results"][0]["ruleId"] == "pod-security-baseline/privileged"
    assert report.format("github").startswith("::error file=<input>,line=1")
    assert report.format("junit").startswith("<?xml")
    assert json.loads(report.format("policy-report"))["kind"] == "List"
    assert json.loads(report.format("json")) == report.to_dict()
    with pytest.raises(paved.InputError, match="did you mean `sarif`"):
        report.format("sariff")


def test_context_operation_namespaces_user_and_params() -> None:
    engine = paved.Engine.from_yaml(_policy_text())
    pod = dict(PRIVILEGED)
    prod = {"shop": {"env": "prod"}}
    alice = {"username": "alice"}
    assert engine.check(pod, now=NOW, operation="UPDATE", namespaces=prod, user_info=alice).decision == "deny"
    assert engine.check(pod, now=NOW, operation="CREATE", namespaces=prod).decision == "allow"
    assert engine.check(pod, now=NOW, operation="UPDATE", namespaces={"shop": {"env": "dev"}}).decision == "allow"
    owned = paved.Engine.from_yaml(_policy_text(), set={"prod-only.owner": "alice"})
    assert owned.check(pod, now=NOW, operation="UPDATE", namespaces=prod, user_info=alice).decision == "allow"
    with pytest.raises(paved.InputError, match="operation `PATCH`"):
        engine.check(pod, operation="PATCH")
    with pytest.raises(paved.LoadError, match="no loaded policy `prod-onyl`; did you mean `prod-only`"):
        paved.Engine.from_yaml(_policy_text(), set={"prod-onyl.owner": "alice"})
    with pytest.raises(paved.InputError, match="there is no param `ownr`; did you mean `owner`"):
        paved.Engine.from_yaml(_policy_text(), set={"prod-only.ownr": "alice"})


def _policy_text() -> str:
    return """
apiVersion: paved.dev/v1
kind: Policy
metadata: { name: prod-only, version: 1.0.0 }
spec:
  severity: high
  match: { kinds: [Pod], operations: [UPDATE], namespaceSelector: { matchLabels: { env: prod } } }
  params: { owner: nobody }
  rules:
    - { id: owner, message: not the owner, cel: "request.userInfo.username == params.owner" }
"""


def test_now_is_a_datetime_or_text() -> None:
    engine = paved.Engine(packs=["pod-security-baseline"])
    at = datetime.datetime(2026, 6, 1, tzinfo=datetime.timezone.utc)
    assert engine.check(PRIVILEGED, now=at).to_json() == engine.check(PRIVILEGED, now=NOW).to_json()
    with pytest.raises(paved.InputError, match="needs a timezone"):
        engine.check(PRIVILEGED, now=datetime.datetime(2026, 6, 1))
    with pytest.raises(paved.InputError, match="now:"):
        engine.check(PRIVILEGED, now="yesterday")


def test_exceptions_expire_at_the_same_instant_as_in_the_cli(tmp_path: pathlib.Path) -> None:
    bundle = ROOT / "examples" / "bundle"
    manifests = ROOT / "examples" / "manifests" / "billing.yaml"
    engine = paved.Engine(bundle)
    expires = next(e for e in engine.exceptions(NOW) if e.name == "legacy-billing-sidecar").expires
    instant = datetime.datetime.fromisoformat(expires.replace("Z", "+00:00"))
    for at in (instant - datetime.timedelta(seconds=1), instant):
        stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        report = engine.check(manifests.read_text(), now=stamp)
        cli = cli_report(["--bundle", str(bundle), "--now", stamp, str(manifests)])
        mine = {e.name: e.status for e in report.exceptions}
        theirs = {e["name"]: e["status"] for e in cli["exceptions"]}
        assert mine == theirs
        assert denials(report.to_dict()) == denials(cli)
    before, after = (engine.check(manifests.read_text(), now=t) for t in ((instant - datetime.timedelta(seconds=1)).isoformat(), instant.isoformat()))
    assert before.summary.waived > 0 and after.summary.waived == 0


def test_admission_reviews_are_answered_as_the_webhook_does() -> None:
    engine = paved.Engine(packs=["pod-security-baseline"])
    review = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {"uid": "u1", "operation": "CREATE", "namespace": "shop", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "object": PRIVILEGED},
    }
    answer = engine.admit(review, now=NOW)
    assert answer["response"]["uid"] == "u1" and answer["response"]["allowed"] is False
    assert "pod-security-baseline/privileged" in answer["response"]["status"]["message"]
    del review["request"]["operation"]  # type: ignore[attr-defined]
    denial = engine.admit(review)
    assert denial["response"]["allowed"] is False and "no `operation`" in denial["response"]["status"]["message"]
    with pytest.raises(paved.InputError, match="no `uid`"):
        engine.admit({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {}})


def test_errors_carry_their_lines() -> None:
    with pytest.raises(paved.LoadError) as load:
        paved.Engine.from_yaml("apiVersion: paved.dev/v1\nkind: Policy\nmetadata: { name: x }\nspec:\n  severity: hihg\n")
    d = load.value.diagnostics[0]
    assert (d.file, d.line, d.column) == ("bundle.yaml", 5, 13)
    assert "hihg" in d.message and str(load.value).startswith("bundle.yaml:5:13:")
    assert str(d).startswith("bundle.yaml:5:13: ")

    with pytest.raises(paved.InputError) as bad:
        paved.Engine().check("kind: Pod\nmetadata: {name: a}\n  spec: [\n")
    assert bad.value.diagnostics and bad.value.diagnostics[0].line >= 2

    with pytest.raises(paved.LoadError, match="no built-in pack `platform-baselin`; did you mean `platform-baseline`"):
        paved.Engine(packs=["platform-baselin"])
    with pytest.raises(paved.LoadError, match="cannot read"):
        paved.Engine("/nonexistent/bundle")
    assert issubclass(paved.LoadError, paved.PavedError) and issubclass(paved.PavedError, Exception)


def test_one_engine_many_threads() -> None:
    engine = paved.Engine()
    text = (ROOT / "examples" / "manifests" / "storefront.yaml").read_text()
    expected = engine.check(text, now=NOW).to_json()
    results: List[str] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(25):
            got = engine.check(text, now=NOW).to_json()
            with lock:
                results.append(got)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 200 and all(r == expected for r in results)


def test_many_objects_in_one_call() -> None:
    engine = paved.Engine(packs=["pod-security-restricted"])
    pods = [dict(PRIVILEGED, metadata={"name": f"p{i}", "namespace": "shop"}) for i in range(2000)]
    report = engine.check(pods, now=NOW)
    assert report.summary.resources == 2000
    assert [r.resource.name for r in report.findings[:1]] == ["p0"]


def test_packs_are_listed() -> None:
    names = [p["name"] for p in paved.packs()]
    assert "platform-baseline" in names and "pod-security-restricted" in names


def test_what_is_not_json_like_is_an_input_error() -> None:
    engine = paved.Engine(packs=["pod-security-baseline"])
    with pytest.raises(paved.InputError, match="a object is not JSON-like data"):
        engine.check({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": object()}})
    looped: Dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}
    looped["spec"] = looped
    with pytest.raises(paved.InputError, match="nested more than 256 deep"):
        engine.check(looped)
    with pytest.raises(paved.InputError, match="not a string"):
        engine.check({"apiVersion": "v1", "kind": "Pod", 1: "x"})  # type: ignore[dict-item]
    # Tuples are lists; big integers are refused rather than rounded.
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": ({"name": "a", "image": "x:1"},)}}
    assert engine.check(pod).decision == "allow"
    with pytest.raises(paved.InputError, match="does not fit in 64 bits"):
        engine.check(dict(pod, spec={"replicas": 2**70}))


def test_plugins_from_the_bundle_or_given_as_bytes() -> None:
    bundle = ROOT / "examples" / "plugins" / "bundle"
    manifests = ROOT / "examples" / "plugins" / "manifests" / "checkout.yaml"
    report = paved.Engine(bundle).check(manifests.read_text(), now=NOW)
    cli = cli_report(["--bundle", str(bundle), "--now", NOW, str(manifests)])
    assert denials(report.to_dict()) == denials(cli)
    assert any((f.detail or "").startswith("plugin registry-allowlist") for f in report.findings), report.findings
    # From text, nothing is read: the components are given, and their pins still hold.
    text = (bundle / "paved.yaml").read_text() + "\n---\n" + (bundle / "policies.yaml").read_text()
    wasm = {p.stem: p.read_bytes() for p in bundle.glob("*.wasm")}
    given = paved.Engine.from_yaml(text, file="paved.yaml", plugins=wasm)
    assert denials(given.check(manifests.read_text(), now=NOW).to_dict()) == denials(cli)
    with pytest.raises(paved.LoadError, match="was not given to the engine"):
        paved.Engine.from_yaml(text, file="paved.yaml")
    with pytest.raises(paved.LoadError, match="sha256"):
        paved.Engine.from_yaml(text, file="paved.yaml", plugins=dict(wasm, **{"cost-budget": wasm["owner-catalog"]}))


DEPLOYMENT: Dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web", "env": "production"}},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "r/web:1"}]}},
    },
}
BUDGET: Dict[str, Any] = {
    "apiVersion": "policy/v1",
    "kind": "PodDisruptionBudget",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}},
}


def test_the_inventory_is_looked_up_and_a_partial_view_is_not_denied() -> None:
    engine = paved.Engine(packs=["platform-baseline"])

    def budget_rules(**kw: Any) -> List[str]:
        report = engine.check(DEPLOYMENT, now=NOW, **kw)
        return [f"{f.policy}/{f.rule}" for f in report.findings if f.policy.startswith("production-disruption")]

    assert budget_rules() == ["production-disruption-budget-in-view/pod-disruption-budget-in-view"]
    assert budget_rules(inventory_complete=True) == ["production-disruption-budget/pod-disruption-budget"]
    assert budget_rules(inventory_complete=["shop"]) == ["production-disruption-budget/pod-disruption-budget"]
    assert budget_rules(inventory_complete=["blog"]) == ["production-disruption-budget-in-view/pod-disruption-budget-in-view"]
    assert budget_rules(inventory=[BUDGET], inventory_complete=True) == []
    with pytest.raises(paved.InputError):
        engine.check(DEPLOYMENT, now=NOW, inventory_complete=3)  # type: ignore[arg-type]


def test_the_policies_teams_already_run_judge_as_in_the_cli() -> None:
    # A ValidatingAdmissionPolicy with its binding, a Kyverno ValidatingPolicy and a Kyverno
    # PolicyException, in force on this day.
    bundle = ROOT / "examples" / "admission-policies" / "bundle"
    path = ROOT / "examples" / "admission-policies" / "manifests" / "workloads.yaml"
    now = "2026-12-10T00:00:00Z"
    report = paved.Engine(bundle).check(path.read_text(), now=now)
    expected = cli_report(["--bundle", str(bundle), "--now", now, str(path)])
    for finding in expected["findings"] + expected["resources"]:
        if finding.get("source"):
            finding["source"]["file"] = "<input>"
    assert json.loads(report.to_json()) == expected
    found = sorted(
        (f["policy"], f.get("binding") or "", f.get("waivedBy") or "") for f in report.to_dict()["findings"]
    )
    assert found == [
        ("ghcr-only", "", ""),
        ("ghcr-only", "", ""),
        ("ghcr-only", "", "legacy-billing"),
        ("replica-limit", "replica-limit", ""),
    ]


def test_mutate_returns_the_objects_as_the_mutations_left_them_and_the_changes() -> None:
    engine = paved.Engine(bundle=str(ROOT / "examples" / "mutation" / "bundle"))
    web: Dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "registry.example.com/shop/web:1.4.2"}]},
            }
        },
    }
    objects, report = engine.mutate(web, now=NOW)
    assert objects[0]["spec"]["template"]["metadata"]["labels"]["cost-center"] == "shared"
    assert objects[0]["spec"]["template"]["spec"]["containers"][0]["image"].endswith(
        "@sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270"
    )
    assert report.decision == "allow"
    assert report.patches[0]["operation"] == {
        "op": "add",
        "path": "/metadata/annotations",
        "value": {"example.com/owner": "shop"},
    }
    assert report.to_dict()["patches"] == report.patches
    assert web["spec"]["template"]["metadata"]["labels"] == {"app": "web"}, "the input is not changed"
    again, report = engine.mutate(objects, now=NOW)
    assert again == objects and report.patches == []
    # check mutates first, as everywhere.
    assert engine.check(web, now=NOW).patches == engine.mutate(web, now=NOW)[1].patches


SIGNED_IMAGES = """
apiVersion: paved.dev/v1
kind: Policy
metadata: { name: signed-images, version: 1.0.0 }
spec:
  match: { kinds: [Pod] }
  rules:
    - id: platform-key
      message: images from the platform's registry are signed by its key
      verifyImages:
        images: ["registry.acme.dev/*"]
        mutateDigest: true
        keys:
          - |
            -----BEGIN PUBLIC KEY-----
            MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENptdY/l3nB0yqkXLBWkZWQwo6+cu
            OSWS1X9vPavpiQOoTTGC0xX57OojUadxF1cdQmrsiReWg2Wn4FneJfa8xw==
            -----END PUBLIC KEY-----
"""


def test_image_verdicts_are_given_as_the_cli_records_them_and_digests_written_back() -> None:
    engine = paved.Engine.from_yaml(SIGNED_IMAGES)
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"containers": [{"name": "web", "image": "registry.acme.dev/shop/web:1.2"}]},
    }
    [request] = engine.image_requests(pod)
    assert request["image"] == "registry.acme.dev/shop/web:1.2"
    digest = "sha256:" + "a" * 64
    verified = {"image": request["image"], "requirement": request["requirement"], "outcome": "verified", "digest": digest}
    # No verdict: not verified, fail closed.
    assert engine.check(pod, now=NOW).decision == "deny"
    assert engine.check(pod, now=NOW, images=[verified]).decision == "allow"
    recorded = {"apiVersion": "paved.dev/v1", "kind": "ImageVerdicts", "verdicts": [verified]}
    objects, report = engine.mutate(pod, now=NOW, images=recorded)
    assert objects[0]["spec"]["containers"][0]["image"] == f"registry.acme.dev/shop/web:1.2@{digest}"
    assert report.decision == "allow"
    refused = dict(verified, outcome="refused", reason="it is not signed")
    report = engine.check(pod, now=NOW, images=[refused])
    assert report.decision == "deny" and "it is not signed" in (report.findings[0].detail or "")
    with pytest.raises(paved.InputError, match="images"):
        engine.check(pod, now=NOW, images=[{"image": "x"}])
