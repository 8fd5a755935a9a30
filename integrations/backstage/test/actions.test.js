'use strict'
// The scaffolder actions with Backstage's own mock action context: a good render writes the
// expected files, bad inputs fail with the field and line, a denied render fails with the
// findings, and the example template's parameters are the golden path's.

const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { test } = require('node:test')
const yaml = require('yaml')

require('./jest-shim')
const { createMockActionContext } = require('@backstage/plugin-scaffolder-node-test-utils')

const { renderAction, checkAction } = require('../src/actions')
const pavedModule = require('../src/index')

const ROOT = path.join(__dirname, '..', '..', '..')
const INPUTS = { name: 'checkout', team: 'payments', costCenter: 'cc-3120', image: 'registry.acme.dev/payments/checkout:4.2.1', tier: 'standard' }

function workspace() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'paved-backstage-'))
}

function context(input, workspacePath = workspace()) {
  const outputs = {}
  const ctx = createMockActionContext({ input, workspacePath })
  ctx.output = (name, value) => {
    outputs[name] = value
  }
  return { ctx, outputs, workspacePath }
}

test('paved:render writes one file per object of the golden path', async () => {
  const { ctx, outputs, workspacePath } = context({ goldenPath: 'web-service@^2', inputs: INPUTS })
  await renderAction().handler(ctx)
  assert.match(outputs.goldenPath, /^web-service@2\./)
  assert.ok(outputs.files.includes('k8s/deployment-checkout.yaml'), outputs.files.join(', '))
  assert.ok(outputs.files.includes('k8s/service-checkout.yaml'))
  const deployment = yaml.parse(fs.readFileSync(path.join(workspacePath, 'k8s', 'deployment-checkout.yaml'), 'utf8'))
  assert.equal(deployment.kind, 'Deployment')
  assert.equal(deployment.metadata.labels.team, 'payments')
  // The files are what `paved render` prints, object by object.
  const rendered = execFileSync(path.join(ROOT, 'target', 'debug', 'paved'), ['render', 'web-service@^2', '-f', '-'], {
    input: JSON.stringify(INPUTS),
  }).toString()
  const fromCli = rendered.split(/^---$/m).map((d) => yaml.parse(d)).filter(Boolean)
  const written = outputs.files.map((f) => yaml.parse(fs.readFileSync(path.join(workspacePath, f), 'utf8')))
  assert.deepEqual(written, fromCli)

  // ...and they pass paved:check.
  const check = context({ path: 'k8s' }, workspacePath)
  await checkAction().handler(check.ctx)
  assert.notEqual(check.outputs.decision, 'deny')
})

test('paved:render fails on bad inputs with the field and line', async () => {
  const { ctx } = context({ goldenPath: 'web-service@^2', inputs: { ...INPUTS, costCenter: 3120, replicas: 'many' } })
  await assert.rejects(renderAction().handler(ctx), (e) => {
    assert.match(e.message, /costCenter/)
    assert.match(e.message, /<inputs>:\d+:\d+:/)
    return true
  })
  const unknown = context({ goldenPath: 'web-servce', inputs: INPUTS })
  await assert.rejects(renderAction().handler(unknown.ctx), /web-servce/)
})

test('paved:render fails with the findings when the golden path denies its own render', async () => {
  const bundle = path.join(ROOT, 'cli', 'tests', 'fixtures', 'golden')
  const { ctx, workspacePath } = context({ goldenPath: 'config-in-default', inputs: { name: 'x' } })
  await assert.rejects(renderAction({ bundle }).handler(ctx), (e) => {
    assert.match(e.message, /config-in-default@1\.0\.0 rendered manifests its policies deny/)
    assert.match(e.message, /workload-placement\/no-default-namespace: ConfigMap default\/x/)
    return true
  })
  assert.equal(fs.existsSync(path.join(workspacePath, 'k8s')), false, 'nothing is written')
})

test('paved:check logs findings and fails the task on a denial', async () => {
  const workspacePath = workspace()
  fs.mkdirSync(path.join(workspacePath, 'k8s'))
  fs.writeFileSync(
    path.join(workspacePath, 'k8s', 'pod.yaml'),
    'apiVersion: v1\nkind: Pod\nmetadata: { name: web, namespace: shop }\nspec:\n  hostNetwork: true\n  containers: [{ name: app, image: nginx:1.27 }]\n',
  )
  const logged = []
  const { ctx, outputs } = context({ path: 'k8s', packs: ['pod-security-baseline'] }, workspacePath)
  ctx.logger = { ...ctx.logger, warn: (m) => logged.push(m), info: (m) => logged.push(m) }
  await assert.rejects(checkAction().handler(ctx), /pod-security-baseline\/hostNamespaces/)
  assert.equal(outputs.decision, 'deny')
  assert.ok(logged.some((l) => l.startsWith('deny pod-security-baseline/hostNamespaces') && l.includes('k8s/pod.yaml:5')), logged.join('\n'))
  assert.equal(outputs.report.summary.denied, 1)
  // failOn: never reports without failing.
  const lenient = context({ path: 'k8s', packs: ['pod-security-baseline'], failOn: 'never' }, workspacePath)
  await checkAction().handler(lenient.ctx)
  assert.equal(lenient.outputs.decision, 'deny')
  // Paths out of the workspace are refused.
  await assert.rejects(checkAction().handler(context({ path: '../..' }, workspacePath).ctx), /outside the task's workspace/)
})

test("the example template's parameters are the golden path's inputs schema", () => {
  const template = yaml.parse(fs.readFileSync(path.join(__dirname, '..', 'examples', 'template.yaml'), 'utf8'))
  const printed = execFileSync(path.join(ROOT, 'target', 'debug', 'paved'), ['parameters', 'web-service@^2']).toString()
  assert.deepEqual(template.spec.parameters, yaml.parse(printed).parameters)
  const steps = template.spec.steps.map((s) => s.action)
  assert.deepEqual(steps, ['paved:render', 'paved:check'])
})

test('the backend module registers with the scaffolder', () => {
  assert.equal(pavedModule.$$type, '@backstage/BackendFeature')
})
