#!/usr/bin/env bash
# Times the release `paved` on the day-2 fleet of `cli/tests/all/day2.rs` (1,000 services across
# every golden path version, with planted extensions, drift, conflicts and selector changes):
# `upgrade --all` (plan only), `upgrade --all --write` (on a copy), `conform`, `catalog` and
# `outdated`. Each figure is the median of RUNS runs, with peak memory.
# Usage: bash benches/upgrade-fleet.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cargo build --release --locked -q -p paved-cli
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
PAVED_FLEET_DIR="$work/fleet" cargo test --locked -q -p paved-cli --test all day2 >/dev/null
now=2026-11-30T00:00:00Z

# Prints "median-seconds max-rss-MiB" of a command, each run after `prepare`.
measure() {
  local prepare=$1
  shift
  : >"$work/times"
  for _ in $(seq "$runs"); do
    eval "$prepare"
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null || true
    grep -v "^Command" "$work/time" >>"$work/times"
  done
  sort -n "$work/times" | awk -v n="$runs" '{t[NR]=$1; m[NR]=$2} END {i=int((n+1)/2); printf "%.2f s %6.0f MiB\n", t[i], m[i]/1024}'
}

p=target/release/paved
printf "%-34s %s\n" "upgrade --all (plan)" "$(measure : $p upgrade --all "$work/fleet" --format json)"
fresh='rm -rf "$work/copy"; cp -r "$work/fleet" "$work/copy"'
printf "%-34s %s\n" "upgrade --all --write" "$(measure "$fresh" $p upgrade --all "$work/copy" --write --format json)"
printf "%-34s %s\n" "conform" "$(measure : $p conform "$work/fleet" --format json --now $now)"
printf "%-34s %s\n" "catalog" "$(measure : $p catalog "$work/fleet" --format json --now $now)"
printf "%-34s %s\n" "outdated" "$(measure : $p outdated "$work/fleet" --format json --now $now)"
