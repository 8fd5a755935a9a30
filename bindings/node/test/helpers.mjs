// @ts-check
// Shared by the tests: the repository, the conformance data, and the `paved` CLI the package
// must agree with.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
export const CONFORMANCE = join(ROOT, '..', 'shared', 'conformance')
export const NOW = '2026-06-01T00:00:00Z'

/** The `paved` binary: $PAVED_CLI, or the workspace's debug or release build. */
export function cli() {
  if (process.env.PAVED_CLI) return process.env.PAVED_CLI
  for (const profile of ['debug', 'release']) {
    const p = join(ROOT, 'target', profile, 'paved')
    if (existsSync(p)) return p
  }
  throw new Error('no paved CLI to compare with (cargo build -p paved-cli)')
}

/**
 * `paved check --format json ARGS`.
 * @param {string[]} args
 * @returns {any}
 */
export function cliReport(args) {
  const out = execFileSync(cli(), ['check', '--format', 'json', '--fail-on', 'never', ...args], { maxBuffer: 1 << 28 })
  return JSON.parse(out.toString())
}

/**
 * For each resource in order, the sorted `policy/rule`s of its unwaived Deny findings.
 * @param {{findings: any[], resources: any[]}} report
 * @returns {string[][]}
 */
export function denials(report) {
  let i = 0
  return report.resources.map((r) => {
    const mine = report.findings.slice(i, i + r.findings)
    i += r.findings
    return mine
      .filter((f) => f.action === 'Deny' && f.waivedBy === null)
      .map((f) => `${f.policy}/${f.rule}`)
      .sort()
  })
}
