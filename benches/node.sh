#!/usr/bin/env bash
# The Node package against the Rust evaluate bench, in the same run: builds the addon (release),
# runs criterion's `deployment-23-rules/paved evaluate`, then bindings/node/bench.mjs on the same
# Deployment and bundle, and prints the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -q -p paved-node
node_target="$(node -p 'process.platform + "-" + process.arch')"
case "$node_target" in linux-*) node_target="$node_target-gnu" ;; esac
cp target/release/libpaved_node.so "bindings/node/paved.$node_target.node"
(cd bindings/node && npm ci --no-audit --no-fund --loglevel=error)
rust=$(cargo bench -q -p paved-benches --bench evaluate -- --noplot 'deployment-23-rules/paved evaluate' 2>/dev/null \
  | awk '/time:/ { print $4, $5; exit }')
echo "rust engine.evaluate, 3 KB Deployment, 23 rules: $rust (criterion median)"
out=$(node bindings/node/bench.mjs)
echo "$out"
js=$(echo "$out" | awk -F': ' 'NR==1 { split($2, a, " "); print a[1] }')
awk -v r="$rust" -v p="$js" 'BEGIN { split(r, a, " "); t = a[1]; if (a[2] == "ns") t /= 1000; if (a[2] == "ms") t *= 1000; printf "node / rust: %.2f×\n", p / t }'
