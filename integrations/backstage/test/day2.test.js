'use strict'
// Day 2 in Backstage, with Backstage's own test utilities: `paved:upgrade` upgrades a service's
// manifests in the workspace by the three-way merge (kept extensions, conflicts that fail the
// task unless `prefer` resolves them, comments kept), `paved:conform` measures drift, the
// upgrade template chains them with the pull-request action, and the catalog entity provider
// keeps the catalog to what runs (orphans removed by full mutations, the last good set kept
// when its source fails), registered through the catalog's extension point.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { test } = require('node:test')
const yaml = require('yaml')

require('./jest-shim')
const { createMockActionContext } = require('@backstage/plugin-scaffolder-node-test-utils')
const { mockServices, startTestBackend } = require('@backstage/backend-test-utils')
const { catalogProcessingExtensionPoint } = require('@backstage/plugin-catalog-node')
const { EntityPolicies, componentEntityV1alpha1Validator } = require('@backstage/catalog-model')
const paved = require('paved')

const { checkAction, upgradeAction, conformAction } = require('../src/actions')
const { PavedEntityProvider, catalogModule } = require('../src/catalog')

const INPUTS = {
  name: 'orders',
  team: 'shop',
  costCenter: 'cc-3120',
  image: 'registry.acme.dev/shop/orders:1.0.0',
  replicas: 3,
  environment: 'production',
  ingress: { host: 'orders.acme.dev', className: 'nginx' },
}

/** A workspace with the service rendered on web-service@1.0.0 into k8s/orders.yaml, then
 *  changed by its team: `edit(documents)`. */
function service(edit = () => {}) {
  const workspacePath = fs.mkdtempSync(path.join(os.tmpdir(), 'paved-day2-'))
  const docs = paved.render('web-service@1.0.0', INPUTS).map((m) => new yaml.Document(m))
  edit(docs)
  fs.mkdirSync(path.join(workspacePath, 'k8s'))
  const text = '# orders: owned by the shop team\n' + docs.map((d) => d.toString()).join('---\n')
  fs.writeFileSync(path.join(workspacePath, 'k8s', 'orders.yaml'), text)
  return workspacePath
}

const deployment = (docs) => docs.find((d) => d.get('kind') === 'Deployment')

function context(input, workspacePath) {
  const outputs = {}
  const logged = []
  const ctx = createMockActionContext({ input, workspacePath })
  ctx.output = (name, value) => {
    outputs[name] = value
  }
  ctx.logger = { ...ctx.logger, info: (m) => logged.push(m), warn: (m) => logged.push(m) }
  return { ctx, outputs, logged }
}

test('paved:upgrade upgrades the workspace by the three-way merge and says what happened to each field', async () => {
  const workspacePath = service((docs) => deployment(docs).setIn(['spec', 'replicas'], 5))
  const { ctx, outputs, logged } = context({ path: 'k8s', to: '^2' }, workspacePath)
  await upgradeAction().handler(ctx)
  const [s] = outputs.services
  assert.equal(s.status, 'upgraded')
  assert.equal(s.from, 'web-service@1.0.0')
  assert.match(s.to, /^web-service@2\./)
  assert.equal(outputs.conflicts, 0)
  const replicas = s.fields.find((f) => f.object.kind === 'Deployment' && f.path === '/spec/replicas')
  assert.equal(replicas.outcome, 'kept', "the team's change under an extension point stays")
  assert.equal(replicas.source.file, 'k8s/orders.yaml')
  assert.ok(s.fields.some((f) => f.outcome === 'upgraded'))
  assert.deepEqual(outputs.files, ['k8s/orders.yaml'])
  const text = fs.readFileSync(path.join(workspacePath, 'k8s', 'orders.yaml'), 'utf8')
  assert.ok(text.startsWith('# orders: owned by the shop team\n'), 'comments are kept')
  const written = yaml.parseAllDocuments(text).map((d) => d.toJS())
  const d = written.find((o) => o.kind === 'Deployment')
  assert.equal(d.spec.replicas, 5)
  assert.match(d.metadata.annotations['paved.dev/golden-path'], /^web-service@2\./)
  assert.match(outputs.summary, /^\| service \| from \| to \| outcome \|/)
  assert.match(outputs.summary, /\| shop\/orders \| web-service@1\.0\.0 \| web-service@2\.\d+\.\d+ \| upgraded \|/)
  assert.ok(logged.some((l) => l.includes('kept Deployment orders /spec/replicas (k8s/orders.yaml:')), logged.join('\n'))
})

test('paved:upgrade fails on a conflict, writing nothing, unless prefer resolves it', async () => {
  const cpu = ['spec', 'template', 'spec', 'containers', 0, 'resources', 'requests', 'cpu']
  const workspacePath = service((docs) => deployment(docs).setIn(cpu, '300m'))
  const file = path.join(workspacePath, 'k8s', 'orders.yaml')
  const before = fs.readFileSync(file, 'utf8')
  const { ctx, outputs } = context({ path: 'k8s', to: '^2' }, workspacePath)
  await assert.rejects(upgradeAction().handler(ctx), (e) => {
    assert.match(e.message, /1 conflicting fields/)
    assert.match(e.message, /conflict Deployment orders \/spec\/template\/spec\/containers\/0\/resources\/requests\/cpu: ours "300m", theirs/)
    return true
  })
  assert.equal(outputs.conflicts, 1)
  assert.equal(outputs.services[0].status, 'conflict')
  assert.equal(fs.readFileSync(file, 'utf8'), before, 'a conflicted service is not written')

  const ours = context({ path: 'k8s', to: '^2', prefer: 'ours' }, workspacePath)
  await upgradeAction().handler(ours.ctx)
  const field = ours.outputs.services[0].fields.find((f) => f.path.endsWith('/requests/cpu'))
  assert.equal(field.outcome, 'ours')
  const d = yaml.parseAllDocuments(fs.readFileSync(file, 'utf8')).map((x) => x.toJS()).find((o) => o.kind === 'Deployment')
  assert.equal(d.spec.template.spec.containers[0].resources.requests.cpu, '300m')
})

test('paved:upgrade fails with paved\'s message on a path that is not manifests', async () => {
  const workspacePath = service()
  fs.writeFileSync(path.join(workspacePath, 'k8s', 'broken.yaml'), 'kind: [\n')
  const { ctx } = context({ path: 'k8s' }, workspacePath)
  await assert.rejects(upgradeAction().handler(ctx), /broken\.yaml:\d+:\d+/)
  await assert.rejects(upgradeAction().handler(context({ path: '../..' }, workspacePath).ctx), /outside the task's workspace/)
  await assert.rejects(conformAction().handler(context({ path: 'manifests' }, workspacePath).ctx), /manifests does not exist in the task's workspace/)
})

test('paved:conform gives each service its drift, and fails on drift when asked', async () => {
  const workspacePath = service((docs) => {
    deployment(docs).setIn(['spec', 'replicas'], 5)
    deployment(docs).setIn(['metadata', 'labels', 'hand-edited'], 'yes')
  })
  const { ctx, outputs } = context({ path: 'k8s' }, workspacePath)
  await conformAction().handler(ctx)
  const [s] = outputs.services
  assert.equal(s.goldenPath, 'web-service@1.0.0')
  const kinds = s.deviations.map((d) => `${d.kind} ${d.path}`)
  assert.ok(kinds.includes('extension /spec/replicas'), kinds.join(', '))
  assert.ok(kinds.includes('drift /metadata/labels/hand-edited'), kinds.join(', '))
  assert.ok(s.score > 0)
  assert.equal(outputs.summary.services, 1)
  await assert.rejects(conformAction().handler(context({ path: 'k8s', failOnDrift: true }, workspacePath).ctx), /1 of 1 services do not conform/)
})

test('the upgrade template chains paved:upgrade with the pull-request action', () => {
  const template = yaml.parse(fs.readFileSync(path.join(__dirname, '..', 'examples', 'upgrade-template.yaml'), 'utf8'))
  const byId = Object.fromEntries(template.spec.steps.map((s) => [s.id, s]))
  assert.deepEqual(template.spec.steps.map((s) => s.action), ['fetch:plain', 'paved:upgrade', 'paved:check', 'publish:github:pull-request'])
  // Every input a paved step gives is one the action takes (its JSON Schema); the pull
  // request's description is an output paved:upgrade declares.
  const upgrade = upgradeAction()
  const inputs = Object.keys(upgrade.schema.input.properties)
  assert.deepEqual(Object.keys(byId.upgrade.input).filter((k) => !inputs.includes(k)), [])
  const [, output] = byId.pr.input.description.match(/^\$\{\{ steps\.upgrade\.output\.(\w+) \}\}$/)
  assert.ok(Object.keys(upgrade.schema.output.properties).includes(output), output)
  assert.ok(Object.keys(checkAction().schema.input.properties).includes('path'))
  assert.equal(byId.pr.input.repoUrl, '${{ parameters.repoUrl }}')
})

/** A connection that records the catalog's mutations, and a task runner that runs at once. */
function harness(options) {
  const mutations = []
  const errors = []
  const provider = new PavedEntityProvider({
    taskRunner: { run: async ({ fn }) => fn() },
    logger: { info() {}, error: (m) => errors.push(m) },
    ...options,
  })
  return { provider, mutations, errors, connection: { applyMutation: async (m) => mutations.push(m), refresh: async () => {} } }
}

function exports(dir, services) {
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  for (const name of services) {
    const objects = paved.render('web-service@^2', { name, team: 'shop', costCenter: 'cc-3120', image: `registry.acme.dev/shop/${name}:1.0.0`, tier: 'standard' })
    fs.writeFileSync(path.join(dir, `${name}.yaml`), yaml.stringify({ apiVersion: 'v1', kind: 'List', items: objects }))
  }
}

test('the entity provider keeps the catalog to what runs, and the last good set when its source fails', async () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'paved-catalog-')), 'exports')
  exports(dir, ['orders', 'checkout'])
  const { provider, mutations, errors, connection } = harness({ sources: [dir] })
  await provider.connect(connection)
  assert.equal(mutations.length, 1)
  assert.equal(mutations[0].type, 'full')
  const names = (m) => m.entities.map((e) => e.entity.metadata.name).sort()
  assert.deepEqual(names(mutations[0]), ['checkout', 'orders'])
  // Every entity is one the catalog accepts, located at the provider.
  const policies = EntityPolicies.allOf([])
  for (const { entity, locationKey } of mutations[0].entities) {
    assert.equal(locationKey, 'paved:default')
    assert.equal(entity.metadata.annotations['backstage.io/managed-by-location'], 'paved:default')
    assert.ok(await componentEntityV1alpha1Validator.check(entity))
    assert.ok(await policies.enforce(entity))
  }
  // checkout no longer runs: the next full mutation leaves it out, so the catalog drops it.
  exports(dir, ['orders'])
  await provider.refresh()
  assert.deepEqual(names(mutations[1]), ['orders'])
  // A source that fails (a truncated export, a directory gone, nothing at all) changes nothing.
  fs.writeFileSync(path.join(dir, 'orders.yaml'), 'apiVersion: v1\nkind: List\nitems: [\n')
  await assert.rejects(provider.refresh(), /orders\.yaml/)
  fs.rmSync(dir, { recursive: true })
  await assert.rejects(provider.refresh(), /ENOENT/)
  fs.mkdirSync(dir)
  await assert.rejects(provider.refresh(), /the sources hold no objects/)
  assert.equal(mutations.length, 2, 'no mutation from a failed source')
  assert.equal(errors.length, 3)
  assert.ok(errors.every((e) => e.includes('the 1 entities of the last refresh stay')), errors.join('\n'))
  assert.deepEqual(provider.entities.map((e) => e.metadata.name), ['orders'])
})

test('the catalog module adds the provider through the catalog extension point', async () => {
  const added = []
  const config = { paved: { catalog: { sources: [os.tmpdir()], schedule: { frequency: { minutes: 10 }, timeout: { minutes: 2 } } } } }
  const backend = await startTestBackend({
    extensionPoints: [[catalogProcessingExtensionPoint, { addEntityProvider: (p) => added.push(p), addProcessor() {}, addPlaceholderResolver() {}, setOnProcessingErrorHandler() {} }]],
    features: [catalogModule, mockServices.rootConfig.factory({ data: config })],
  })
  assert.equal(added.length, 1)
  assert.ok(added[0] instanceof PavedEntityProvider)
  assert.equal(added[0].getProviderName(), 'paved:default')
  await backend.stop()
})
