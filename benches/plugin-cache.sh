#!/usr/bin/env bash
# Times the release `paved check` of the example bundle with three WASM plugins
# (examples/plugins): with an empty compiled-code cache (every plugin compiles) and, as the peer
# in the same run, with the cache the first runs filled. Median of RUNS runs each.
# Usage: bash benches/plugin-cache.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cargo build --release --locked -q -p paved-cli
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Prints the median seconds of `paved check` with PAVED_CACHE_DIR=$1, emptied first if $2 is "cold".
measure() {
  local cache=$1 mode=$2
  : >"$work/times"
  for _ in $(seq "$runs"); do
    [[ "$mode" == cold ]] && rm -rf "$cache"
    PAVED_CACHE_DIR=$cache /usr/bin/time -f "%e" -o "$work/time" \
      target/release/paved check --bundle examples/plugins/bundle examples/plugins/manifests --fail-on never >/dev/null
    cat "$work/time" >>"$work/times"
  done
  sort -n "$work/times" | awk -v n="$runs" '{t[NR]=$1} END {print t[int((n+1)/2)]}'
}

cold=$(measure "$work/cache" cold)
warm=$(measure "$work/cache" warm)
printf "paved check, 3 plugins: cold cache %ss, warm cache %ss (median of %s)\n" "$cold" "$warm" "$runs"
