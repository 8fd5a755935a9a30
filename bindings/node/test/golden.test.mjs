// @ts-check
// Golden paths from Node.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import { PavedError, catalog, conform, inputsSchema, outdated, render, toYaml, upgrade, upgradePaths } from '../index.mjs'

const INPUTS = { name: 'checkout', team: 'payments', costCenter: 'cc-3120', image: 'registry.acme.dev/payments/checkout:4.2.1' }

test('render, upgrade, conform, outdated', () => {
  const manifests = render('web-service@^1', INPUTS)
  const deployment = manifests.find((m) => m.kind === 'Deployment')
  assert.equal(deployment?.metadata.name, 'checkout')
  assert.equal(upgrade('web-service@1.0.0', INPUTS, { to: '^1' }).to.startsWith('web-service@1.'), true)
  const pinned = render('web-service@1.0.0', INPUTS)
  assert.deepEqual(conform(pinned).services[0].deviations, [])
  assert.equal(outdated(pinned).services[0].goldenPath, 'web-service@1.0.0')
})

test('inputs the golden path does not accept say where', () => {
  assert.throws(
    () => render('web-service@^1', { ...INPUTS, costCenter: 3120 }),
    (e) => e instanceof PavedError && e.kind === 'InputError' && e.diagnostics.some((d) => /costCenter/.test(`${d.pointer} ${d.message}`)),
  )
  assert.throws(() => render('web-servce', INPUTS), (e) => e instanceof PavedError && e.kind === 'GoldenPathError')
})

test('the inputs schema of a golden path', () => {
  const { goldenPath, schema } = inputsSchema('web-service@^2')
  assert.match(goldenPath, /^web-service@2\./)
  assert.equal(schema.type, 'object')
  assert.ok(schema.required.includes('name'))
})

test('upgradePaths: the three-way upgrade of manifests on disk, and catalog', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'paved-node-'))
  const file = path.join(dir, 'checkout.yaml')
  const pinned = render('web-service@1.0.0', INPUTS)
  fs.writeFileSync(file, '# checkout\n' + pinned.map(toYaml).join('---\n'))
  const planned = upgradePaths([dir], { to: '^1' })
  assert.equal(planned.plan.services[0].status, 'upgrade')
  assert.deepEqual(planned.written, [], 'nothing is written without write')
  const done = upgradePaths([dir], { to: '^1', write: true })
  assert.deepEqual(done.written, [file])
  const text = fs.readFileSync(file, 'utf8')
  assert.ok(text.startsWith('# checkout\n'))
  assert.match(text, /paved.dev\/golden-path: web-service@1\.[1-9]/)
  assert.throws(() => upgradePaths([dir], { prefer: /** @type {any} */ ('mine') }), /mine/)
  const [entity] = catalog(pinned)
  assert.equal(entity.kind, 'Component')
  assert.equal(entity.metadata.name, 'checkout')
})
