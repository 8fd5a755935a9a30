// @ts-check
// The same verdicts as the `paved` CLI on every Pod Security Admission fixture of
// ../shared/conformance/ (at its level and Kubernetes version).
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

import { Engine } from '../index.mjs'
import { CONFORMANCE, NOW, cliReport, denials } from './helpers.mjs'

for (const level of ['baseline', 'restricted']) {
  test(`every ${level} fixture gets the CLI's verdict`, () => {
    const dir = join(CONFORMANCE, 'pod-security-admission', level)
    const pack = `pod-security-${level}`
    let total = 0
    for (const version of readdirSync(dir).filter((v) => statSync(join(dir, v)).isDirectory())) {
      const files = ['pass', 'fail'].flatMap((e) => readdirSync(join(dir, version, e)).sort().map((f) => join(dir, version, e, f)))
      const engine = new Engine({ packs: [pack], set: { [`${pack}.kubernetesVersion`]: version } })
      const text = files.map((f) => readFileSync(f, 'utf8')).join('\n---\n')
      const mine = denials(engine.check(text, { now: NOW }))
      const cli = denials(cliReport(['--pack', pack, '--set', `${pack}.kubernetesVersion=${version}`, '--now', NOW, ...files]))
      assert.equal(mine.length, files.length)
      assert.deepEqual(mine, cli, version)
      total += files.length
    }
    assert.ok(total > 1000)
  })
}
