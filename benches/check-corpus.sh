#!/usr/bin/env bash
# Times `paved check` with the default packs over generated fleets of 100 and 10,000 manifests
# (four per service: Deployment, Service, HPA, PDB). Each figure is the median of five runs
# of the release binary, on all cores and, as the peer in the same run, on one thread; and, for
# the 10,000, without the kubernetes-schema pack (the other default packs only), to show what
# checking every manifest against Kubernetes' schemas costs; and the default packs on the
# 10,000 with platform-baseline's rules that look up the inventory (every namespace complete,
# so that every one of them runs) against the same packs without them.
# Usage: bash benches/check-corpus.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cargo build --release --locked -q -p paved-cli
cargo build --release --locked -q -p paved-benches --bin corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
target/release/corpus "$work/m100" 25
target/release/corpus "$work/m10000" 2500

# Prints "median-seconds max-rss-MiB" of `paved check DIR [ARGS...]` with THREADS threads.
measure() {
  local threads=$1 dir=$2
  shift 2
  : >"$work/times"
  for _ in $(seq "$runs"); do
    RAYON_NUM_THREADS=$threads /usr/bin/time -f "%e %M" -o "$work/time" \
      target/release/paved check "$dir" "$@" --format json --fail-on never >"$work/out.json"
    cat "$work/time" >>"$work/times"
  done
  sort -n "$work/times" | awk -v n="$runs" '{t[NR]=$1; m[NR]=$2} END {i=int((n+1)/2); printf "%.3f %.0f\n", t[i], m[i]/1024}'
}

row() { # row LABEL THREADS SIZE DIR [ARGS...]
  local label=$1 threads=$2 size=$3 dir=$4
  shift 4
  read -r secs rss < <(measure "$threads" "$dir" "$@")
  per=$(awk -v s="$secs" -v n="$size" 'BEGIN {printf "%.1f µs", s * 1e6 / n}')
  printf "%-22s %8s %9ss %12s %6s MiB\n" "$label" "$threads" "$secs" "$per" "$rss"
}

printf "%-22s %8s %10s %12s %9s\n" manifests threads median per-manifest max-rss
for size in 100 10000; do
  for threads in "$(nproc)" 1; do
    row "$size" "$threads" "$size" "$work/m$size"
  done
done
row "10000 without schema" "$(nproc)" 10000 "$work/m10000" --pack pod-security-baseline --pack platform-baseline
# The platform baseline with and without the policies that read `inventory`.
python3 - "$work" <<'PY'
import sys
docs = open("packs/platform-baseline.yaml").read().split("\n---\n")
open(sys.argv[1] + "/with.yaml", "w").write("\n---\n".join(docs))
open(sys.argv[1] + "/without.yaml", "w").write("\n---\n".join(d for d in docs if "inventory." not in d))
PY
defaults=(--pack kubernetes-schema --pack pod-security-baseline)
row "10000 inventory rules" "$(nproc)" 10000 "$work/m10000" "${defaults[@]}" --bundle "$work/with.yaml" --inventory-complete
row "10000 without them" "$(nproc)" 10000 "$work/m10000" "${defaults[@]}" --bundle "$work/without.yaml"
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); s=r['summary']; print(f\"last run: {s['resources']} resources, {s['findings']} findings, decision {r['decision']}\")" "$work/out.json"
