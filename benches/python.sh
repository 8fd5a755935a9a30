#!/usr/bin/env bash
# The Python package against the Rust evaluate bench, in the same run: builds the package
# (release) into a virtual environment, runs criterion's `deployment-23-rules/paved evaluate`,
# then bindings/python/bench.py on the same Deployment and bundle, and prints the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/bench-python-venv
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q ./bindings/python PyYAML
rust=$(cargo bench -q -p paved-benches --bench evaluate -- --noplot 'deployment-23-rules/paved evaluate' 2>/dev/null \
  | awk '/time:/ { print $4, $5; exit }')
echo "rust engine.evaluate, 3 KB Deployment, 23 rules: $rust (criterion median)"
out=$("$venv/bin/python" bindings/python/bench.py)
echo "$out"
py=$(echo "$out" | awk -F': ' 'NR==1 { split($2, a, " "); print a[1] }')
awk -v r="$rust" -v p="$py" 'BEGIN { split(r, a, " "); t = a[1]; if (a[2] == "ns") t /= 1000; if (a[2] == "ms") t *= 1000; printf "python / rust: %.2f×\n", p / t }'
