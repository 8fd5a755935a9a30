#!/usr/bin/env bash
# Compares paved's kubernetes-schema pack with the `kubernetes-validate` command (PyPI, 1.37.0,
# whose schemas paved embeds) on a corpus of valid and invalid manifests: every Pod Security
# Admission fixture, the examples, the kubectl YAML corpus and benches/data/schema-corpus.yaml
# (typos of every kind). For each resource, both verdicts: `fail` (a schema or kind error),
# `unknown` (no schema: a custom resource, or a kind the version does not serve), `pass`.
# Prints the agreement and every difference. Needs python3 and the package index once.
# Usage: bash benches/kubernetes-validate.sh
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/kubernetes-validate-venv
[ -x "$venv/bin/kubernetes-validate" ] || {
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q kubernetes-validate==1.37.0
}
cargo build --release --locked -q -p paved-cli
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
corpus=(../shared/conformance/pod-security-admission examples/manifests core/tests/data/kubectl-yaml
    benches/data/schema-corpus.yaml)
find "${corpus[@]}" -name '*.yaml' | sort >"$work/files"
xargs -a "$work/files" "$venv/bin/kubernetes-validate" --strict -k 1.37.0 >"$work/kv.txt" 2>&1 || true
target/release/paved check "${corpus[@]}" --pack kubernetes-schema --format json --fail-on never \
    >"$work/paved.json" 2>"$work/paved.err" || true
python3 - "$work/kv.txt" "$work/paved.json" <<'PY'
import collections, json, re, sys

kv = {}
for line in open(sys.argv[1]):
    m = re.match(r"(INFO|ERROR|WARN) (\S+) (?:passed|did not validate) for resource (\S+)/(\S+)", line)
    if m:
        level, f, kind, name = m.groups()
        kv[(f, kind.lower(), name)] = ("pass" if level == "INFO" else "fail", line.strip())
        continue
    m = re.match(r"WARN (\S+) Couldn't find schema for kind (\S+) with api version", line)
    if m:
        # kubernetes-validate names no resource here; paved's verdict is matched by kind.
        kv.setdefault((m.group(1), m.group(2).lower(), None), ("unknown", line.strip()))

report = json.load(open(sys.argv[2]))
verdicts = {}
for r in report["resources"]:
    key = (r["source"]["file"], r["resource"]["kind"].lower(), r["resource"]["name"])
    verdicts[key] = "pass"
for f in report["findings"]:
    key = (f["source"]["file"], f["resource"]["kind"].lower(), f["resource"]["name"])
    if f["rule"] == "schema-known":
        verdicts[key] = "unknown"
    elif f["rule"] == "kind":
        verdicts[key] = "fail (kind)"
    else:
        verdicts[key] = "fail"

same, differ = collections.Counter(), []
for key, ours in sorted(verdicts.items()):
    theirs = kv.get(key) or kv.get((key[0], key[1], None))
    theirs_v = theirs[0] if theirs else "missing"
    norm = "fail" if ours.startswith("fail") else ours
    if norm == theirs_v:
        same[norm] += 1
    else:
        differ.append((key, ours, theirs_v, theirs[1] if theirs else ""))
total = sum(same.values()) + len(differ)
print(f"{total} resources: {sum(same.values())} same verdict ({dict(same)}), {len(differ)} different")
for key, ours, theirs, line in differ:
    print(f"  {key[0]} {key[1]}/{key[2]}: paved {ours}, kubernetes-validate {theirs}\n      {line}")
PY
