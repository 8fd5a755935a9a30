#!/usr/bin/env bash
# The GitHub Action's check step: `paved check` as annotations (workflow commands on standard
# output), as SARIF for code scanning, and as the human report in the job summary. It records
# the decision and whether --fail-on failed as step outputs; the action's last step fails the job,
# after the SARIF upload. A paved that cannot check (a bundle that does not load, a file that
# does not parse) fails this step at once with paved's error.
set -euo pipefail

# A list input: separated by commas, spaces (paths only) or lines; empty items dropped.
list() {
  local separators=$'\n,' items=() item
  [ "${2:-}" = spaces ] && separators=$'\n,\t '
  IFS="$separators" read -r -d '' -a items <<< "$1" || true
  for item in "${items[@]}"; do
    if [ -n "$item" ]; then printf '%s\n' "$item"; fi
  done
}

paved_bin="$(command -v paved || true)"
if [ -z "$paved_bin" ]; then
  version="${INPUT_VERSION:?the version input is empty}"
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) target=x86_64-unknown-linux-gnu ;;
    Linux-aarch64) target=aarch64-unknown-linux-gnu ;;
    Darwin-arm64) target=aarch64-apple-darwin ;;
    *) echo "::error title=paved::no paved release for $(uname -s) $(uname -m); install paved before this step"; exit 2 ;;
  esac
  dir="${RUNNER_TEMP:-/tmp}/paved-$version"
  base="https://github.com/paved-dev/paved/releases/download/v$version"
  mkdir -p "$dir"
  if ! curl -fsSL "$base/paved-$target.tar.gz" -o "$dir/paved.tar.gz" || ! curl -fsSL "$base/SHA256SUMS" -o "$dir/SHA256SUMS"; then
    echo "::error title=paved::cannot download paved $version from $base; install paved before this step or set the version input"
    exit 2
  fi
  (cd "$dir" && grep " paved-$target.tar.gz\$" SHA256SUMS | sed "s/paved-$target.tar.gz/paved.tar.gz/" | sha256sum -c --quiet -)
  tar -xzf "$dir/paved.tar.gz" -C "$dir"
  paved_bin="$dir/paved"
fi

args=()
while IFS= read -r b; do args+=(--bundle "$b"); done < <(list "${INPUT_BUNDLE:-}")
while IFS= read -r p; do args+=(--pack "$p"); done < <(list "${INPUT_PACKS:-}")
while IFS= read -r e; do args+=(--exceptions "$e"); done < <(list "${INPUT_EXCEPTIONS:-}")
paths=()
while IFS= read -r p; do paths+=("$p"); done < <(list "${INPUT_PATHS:-.}" spaces)
[ ${#paths[@]} -gt 0 ] || paths=(.)
fail_on="${INPUT_FAIL_ON:-deny}"
sarif="${INPUT_SARIF_FILE:-paved.sarif}"

# Annotations: GitHub reads the workflow commands from the step's output.
status=0
annotations="$("$paved_bin" check "${args[@]}" --fail-on "$fail_on" --format github "${paths[@]}")" || status=$?
printf '%s\n' "$annotations"
if [ "$status" -ge 2 ]; then
  echo "::error title=paved::paved could not check (exit $status); its error is above"
  exit "$status"
fi
"$paved_bin" check "${args[@]}" --fail-on never --format sarif "${paths[@]}" > "$sarif"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  {
    echo '### paved check'
    echo '```'
    "$paved_bin" check "${args[@]}" --fail-on never --format human "${paths[@]}"
    echo '```'
  } >> "$GITHUB_STEP_SUMMARY"
fi
decision="${annotations##*-> }"
{
  echo "decision=$decision"
  echo "sarif-file=$sarif"
  echo "failed=$([ "$status" -eq 1 ] && echo true || echo false)"
} >> "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set: run this as a step of the action}"
