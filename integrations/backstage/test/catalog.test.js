'use strict'
// `paved catalog` writes entities that Backstage's own catalog model accepts: a service on every
// shipped golden path version (deprecated and past-sunset ones included) is rendered, and every
// entity of its catalog passes the catalog's entity policies and the Component kind's validator,
// as the catalog backend applies them when it ingests `catalog-info.yaml`.

const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { test } = require('node:test')
const yaml = require('yaml')
const {
  EntityPolicies,
  DefaultNamespaceEntityPolicy,
  FieldFormatEntityPolicy,
  NoForeignRootFieldsEntityPolicy,
  SchemaValidEntityPolicy,
  componentEntityV1alpha1Validator,
} = require('@backstage/catalog-model')

const ROOT = path.join(__dirname, '..', '..', '..')
const PAVED = path.join(ROOT, 'target', 'debug', 'paved')
const NOW = '2026-11-30T00:00:00Z'

function inputs(spec, name, team) {
  const base = { name, team, costCenter: 'cc-3120', image: `registry.acme.dev/${team}/${name}:1.0.0` }
  const extra = {
    'web-service@1.0.0': { replicas: 3, environment: 'production', ingress: { host: `${name}.acme.dev`, className: 'nginx' } },
    'web-service@1.1.0': { replicas: 3, environment: 'staging' },
    'web-service@2.0.0': { tier: 'critical', ingress: { host: `${name}.acme.dev` } },
    'worker@1.0.0': { queue: { name: `${name}.events` } },
    'worker@2.0.0': { queue: { topic: `${name}.events`, backend: 'sqs' } },
    'cron-job@1.0.0': { schedule: '0 3 * * *' },
    'cron-job@2.0.0': { schedule: '0 3 * * *', timeZone: 'Europe/Berlin' },
  }[spec]
  return { ...base, ...extra }
}

function fleet() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'paved-catalog-'))
  const specs = ['web-service@1.0.0', 'web-service@1.1.0', 'web-service@2.0.0', 'worker@1.0.0', 'worker@2.0.0', 'cron-job@1.0.0', 'cron-job@2.0.0']
  specs.forEach((spec, i) => {
    const team = ['payments', 'growth'][i % 2]
    // Two services share a name in two namespaces: their entities must still differ.
    const name = i < 2 ? 'shop' : `svc-${i}`
    const rendered = execFileSync(PAVED, ['render', spec, '-f', '-'], {
      input: JSON.stringify(inputs(spec, name, team)),
      stdio: ['pipe', 'pipe', 'ignore'],
    })
    fs.writeFileSync(path.join(dir, `${i}.yaml`), rendered)
  })
  return { dir, count: specs.length }
}

const policy = EntityPolicies.allOf([
  new DefaultNamespaceEntityPolicy(),
  new NoForeignRootFieldsEntityPolicy(),
  new FieldFormatEntityPolicy(),
  new SchemaValidEntityPolicy(),
])

async function valid(entity) {
  const enforced = await policy.enforce(structuredClone(entity))
  return componentEntityV1alpha1Validator.check(enforced)
}

test('every entity of the catalog is a valid Backstage Component', async () => {
  const { dir, count } = fleet()
  const entities = JSON.parse(execFileSync(PAVED, ['catalog', dir, '--format', 'json', '--now', NOW]))
  assert.equal(entities.length, count)
  assert.equal(new Set(entities.map((e) => e.metadata.name)).size, count, 'names are unique')
  for (const e of entities) {
    assert.equal(await valid(e), true, JSON.stringify(e))
  }
  // The YAML form is the same entities.
  const text = execFileSync(PAVED, ['catalog', dir, '--now', NOW]).toString()
  const docs = yaml.parseAllDocuments(text).map((d) => d.toJSON()).filter(Boolean)
  assert.deepEqual(docs, entities)

  const byVersion = (v) => entities.find((e) => e.metadata.annotations['paved.dev/golden-path'] === v)
  // A deprecated version, and one past its sunset, show in the lifecycle and annotations.
  assert.equal(byVersion('web-service@1.0.0').spec.lifecycle, 'deprecated')
  assert.equal(byVersion('cron-job@1.0.0').spec.lifecycle, 'deprecated')
  assert.equal(byVersion('cron-job@1.0.0').metadata.annotations['paved.dev/past-sunset'], 'true')
  assert.equal(byVersion('web-service@2.0.0').spec.lifecycle, 'production')
  assert.equal(byVersion('web-service@1.1.0').spec.lifecycle, 'experimental')
  const web = byVersion('web-service@2.0.0')
  assert.equal(web.spec.owner, 'group:default/payments')
  assert.equal(web.metadata.annotations['backstage.io/kubernetes-id'], 'svc-2')
  assert.equal(web.metadata.annotations['backstage.io/kubernetes-namespace'], 'payments')
  assert.equal(web.metadata.annotations['paved.dev/drift-score'], '0')
  assert.equal(byVersion('web-service@1.0.0').metadata.annotations['paved.dev/behind'], 'major')
})

test('the validator refuses what Backstage refuses', async () => {
  const { dir } = fleet()
  const [entity] = JSON.parse(execFileSync(PAVED, ['catalog', dir, '--format', 'json', '--now', NOW]))
  await assert.rejects(valid({ ...entity, metadata: { ...entity.metadata, name: 'not a name!' } }))
  await assert.rejects(valid({ ...entity, spec: { ...entity.spec, owner: undefined } }))
})
