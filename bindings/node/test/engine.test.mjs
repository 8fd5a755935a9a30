// @ts-check
// The Node API: engines, checks, reports, formats, admission, errors, concurrency.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

import { Engine, PavedError, packs } from '../index.mjs'
import { NOW, ROOT, cliReport, denials } from './helpers.mjs'

const PRIVILEGED = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'shop' },
  spec: { containers: [{ name: 'app', image: 'nginx:1.27', securityContext: { privileged: true } }] },
}

test('an object, an array and text are checked alike', () => {
  const engine = new Engine({ packs: ['pod-security-baseline'] })
  const one = engine.check(PRIVILEGED, { now: NOW })
  const many = engine.check([PRIVILEGED, PRIVILEGED], { now: NOW })
  const text = engine.check(JSON.stringify(PRIVILEGED), { now: new Date(NOW) })
  assert.equal(one.decision, 'deny')
  assert.equal(many.summary.denied, 2)
  assert.equal(text.decision, 'deny')
  const f = one.findings[0]
  assert.deepEqual([f.policy, f.rule, f.severity, f.action], ['pod-security-baseline', 'privileged', 'high', 'Deny'])
  assert.equal(f.path, '/spec/containers/0/securityContext/privileged')
  assert.deepEqual(f.resource, { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name: 'web' })
  assert.equal(f.source, null)
  assert.equal(text.findings[0].source?.file, '<input>')
  assert.equal(f.waivedBy, null)
  // A plain object: JSON of it is the report contract, without the format method.
  assert.deepEqual(Object.keys(one), ['findings', 'resources', 'exceptions', 'summary', 'decision'])
})

test('the report is the CLI report', () => {
  const bundle = join(ROOT, 'examples', 'bundle')
  const engine = new Engine({ bundle })
  for (const name of readdirSync(join(ROOT, 'examples', 'manifests')).sort()) {
    const path = join(ROOT, 'examples', 'manifests', name)
    const mine = engine.check(readFileSync(path, 'utf8'), { now: NOW, file: path })
    const cli = cliReport(['--bundle', bundle, '--now', NOW, path])
    assert.deepEqual(JSON.parse(JSON.stringify(mine)), cli, name)
  }
})

test('the policies teams already run judge as in the CLI', () => {
  // A ValidatingAdmissionPolicy with its binding, a Kyverno ValidatingPolicy and a Kyverno
  // PolicyException, in force on this day.
  const dir = join(ROOT, 'examples', 'admission-policies')
  const bundle = join(dir, 'bundle')
  const path = join(dir, 'manifests', 'workloads.yaml')
  const now = '2026-12-10T00:00:00Z'
  const mine = new Engine({ bundle }).check(readFileSync(path, 'utf8'), { now, file: path })
  assert.deepEqual(JSON.parse(JSON.stringify(mine)), cliReport(['--bundle', bundle, '--now', now, path]))
  const found = mine.findings.map((f) => [f.policy, f.binding ?? '', f.waivedBy ?? '']).sort()
  assert.deepEqual(found, [
    ['ghcr-only', '', ''],
    ['ghcr-only', '', ''],
    ['ghcr-only', '', 'legacy-billing'],
    ['replica-limit', 'replica-limit', ''],
  ])
})

test('formats', () => {
  const report = new Engine({ packs: ['pod-security-baseline'] }).check(JSON.stringify(PRIVILEGED), { now: NOW })
  assert.equal(JSON.parse(report.format('sarif')).version, '2.1.0')
  assert.match(report.format('github'), /^::error file=<input>,line=1/)
  assert.match(report.format('junit'), /^<\?xml/)
  assert.equal(JSON.parse(report.format('policy-report')).kind, 'List')
  assert.throws(
    () => report.format(/** @type {any} */ ('sariff')),
    (e) => e instanceof PavedError && e.kind === 'InputError' && /did you mean `sarif`/.test(e.message),
  )
})

test('context: operation, namespace labels, user, params', () => {
  const text = `
apiVersion: paved.dev/v1
kind: Policy
metadata: { name: prod-only, version: 1.0.0 }
spec:
  severity: high
  match: { kinds: [Pod], operations: [UPDATE], namespaceSelector: { matchLabels: { env: prod } } }
  params: { owner: nobody }
  rules:
    - { id: owner, message: not the owner, cel: "request.userInfo.username == params.owner" }
`
  const engine = Engine.fromYaml(text)
  const prod = { shop: { env: 'prod' } }
  const alice = { username: 'alice' }
  assert.equal(engine.check(PRIVILEGED, { now: NOW, operation: 'UPDATE', namespaces: prod, userInfo: alice }).decision, 'deny')
  assert.equal(engine.check(PRIVILEGED, { now: NOW, operation: 'CREATE', namespaces: prod }).decision, 'allow')
  const owned = Engine.fromYaml(text, { set: { 'prod-only.owner': 'alice' } })
  assert.equal(owned.check(PRIVILEGED, { now: NOW, operation: 'UPDATE', namespaces: prod, userInfo: alice }).decision, 'allow')
  assert.throws(() => Engine.fromYaml(text, { set: { 'prod-onyl.owner': 'x' } }), /did you mean `prod-only`/)
  assert.throws(() => Engine.fromYaml(text, { set: { 'prod-only.ownr': 'x' } }), /there is no param `ownr`; did you mean `owner`/)
  assert.throws(() => engine.check(PRIVILEGED, { operation: /** @type {any} */ ('PATCH') }), /operation `PATCH`/)
})

test('exceptions expire at the same instant as in the CLI', () => {
  const bundle = join(ROOT, 'examples', 'bundle')
  const path = join(ROOT, 'examples', 'manifests', 'billing.yaml')
  const engine = new Engine({ bundle })
  const waiver = engine.exceptions(NOW).find((e) => e.name === 'legacy-billing-sidecar')
  assert.ok(waiver)
  const expires = new Date(waiver.expires)
  const waived = []
  for (const at of [new Date(expires.getTime() - 1000), expires]) {
    const stamp = at.toISOString().replace('.000Z', 'Z')
    const mine = engine.check(readFileSync(path, 'utf8'), { now: stamp, file: path })
    const cli = cliReport(['--bundle', bundle, '--now', stamp, path])
    assert.deepEqual(mine.exceptions, cli.exceptions)
    assert.deepEqual(denials(mine), denials(cli))
    waived.push(mine.summary.waived)
  }
  assert.ok(waived[0] > 0 && waived[1] === 0, String(waived))
})

test('admission reviews are answered as the webhook does', () => {
  const engine = new Engine({ packs: ['pod-security-baseline'] })
  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'u1', operation: 'CREATE', namespace: 'shop', kind: { group: '', version: 'v1', kind: 'Pod' }, object: PRIVILEGED },
  }
  const answer = engine.admit(review, { now: NOW })
  assert.equal(answer.response.uid, 'u1')
  assert.equal(answer.response.allowed, false)
  assert.match(answer.response.status.message, /pod-security-baseline\/privileged/)
  assert.throws(() => engine.admit({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {} }), /no `uid`/)
})

test('errors carry their lines', () => {
  assert.throws(
    () => Engine.fromYaml('apiVersion: paved.dev/v1\nkind: Policy\nmetadata: { name: x }\nspec:\n  severity: hihg\n'),
    (e) => {
      assert.ok(e instanceof PavedError && e instanceof Error)
      assert.equal(e.kind, 'LoadError')
      const d = e.diagnostics[0]
      assert.deepEqual([d.file, d.line, d.column], ['bundle.yaml', 5, 13])
      assert.match(e.message, /^bundle\.yaml:5:13: /)
      return true
    },
  )
  assert.throws(() => new Engine().check('kind: Pod\nmetadata: {name: a}\n  spec: [\n'), (e) => e instanceof PavedError && e.diagnostics.length > 0)
  assert.throws(() => new Engine({ packs: ['platform-baselin'] }), /did you mean `platform-baseline`/)
  assert.throws(() => new Engine({ bundle: '/nonexistent/bundle' }), /cannot read/)
  assert.throws(() => new Engine(/** @type {any} */ ({ bundel: 'x' })), /unknown field `bundel`/)
})

test('many concurrent checkAsync calls agree with check', async () => {
  const engine = new Engine()
  const text = readFileSync(join(ROOT, 'examples', 'manifests', 'storefront.yaml'), 'utf8')
  const objects = engine.check(text, { now: NOW }).resources.length
  assert.ok(objects > 0)
  const pods = Array.from({ length: 50 }, (_, i) => ({ ...PRIVILEGED, metadata: { name: `p${i}`, namespace: 'shop' } }))
  const expected = JSON.stringify(engine.check(pods, { now: NOW }))
  const all = await Promise.all(Array.from({ length: 64 }, () => engine.checkAsync(pods, { now: NOW })))
  assert.ok(all.every((r) => JSON.stringify(r) === expected))
  await assert.rejects(engine.checkAsync([{ kind: 'Pod' }]), (e) => e instanceof PavedError && /apiVersion/.test(e.message))
})

test('the built-in packs are listed', () => {
  const names = packs().map((p) => p.name)
  assert.ok(names.includes('platform-baseline') && names.includes('pod-security-restricted'))
})

test('the inventory is looked up, and a partial view is not denied', () => {
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', labels: { app: 'web', env: 'production' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'r/web:1' }] } },
    },
  }
  const budget = {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { minAvailable: 1, selector: { matchLabels: { app: 'web' } } },
  }
  const engine = new Engine({ packs: ['platform-baseline'] })
  /** @param {import('../index.mjs').CheckOptions} options */
  const rules = (options) =>
    engine
      .check(deployment, { now: NOW, ...options })
      .findings.filter((f) => f.policy.startsWith('production-disruption'))
      .map((f) => `${f.policy}/${f.rule}`)
  assert.deepEqual(rules({}), ['production-disruption-budget-in-view/pod-disruption-budget-in-view'])
  assert.deepEqual(rules({ inventoryComplete: true }), ['production-disruption-budget/pod-disruption-budget'])
  assert.deepEqual(rules({ inventoryComplete: ['shop'] }), ['production-disruption-budget/pod-disruption-budget'])
  assert.deepEqual(rules({ inventory: [budget], inventoryComplete: true }), [])
  // @ts-expect-error: not a boolean or a list of names
  assert.throws(() => rules({ inventoryComplete: 3 }), PavedError)
})

test('mutate returns the objects as the mutations left them, the changes, and the report', () => {
  const engine = new Engine({ bundle: join(ROOT, 'examples', 'mutation', 'bundle') })
  const web = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'registry.example.com/shop/web:1.4.2' }] } } },
  }
  const { objects, patches, report } = engine.mutate(web, { now: NOW })
  assert.equal(objects.length, 1)
  assert.equal(objects[0].spec.template.metadata.labels['cost-center'], 'shared')
  assert.match(objects[0].spec.template.spec.containers[0].image, /@sha256:5b0bcabd/)
  assert.deepEqual(patches[0].operation, { op: 'add', path: '/metadata/annotations', value: { 'example.com/owner': 'shop' } })
  assert.equal(report.decision, 'allow')
  assert.equal(report.patches?.length, patches.length)
  // What mutate made needs no mutating.
  assert.deepEqual(engine.mutate(objects[0], { now: NOW }).patches, [])
  // check mutates first, as everywhere: the same changes, the same verdict.
  assert.deepEqual(engine.check(web, { now: NOW }).patches, patches)
})

const SIGNED_IMAGES = `
apiVersion: paved.dev/v1
kind: Policy
metadata: { name: signed-images, version: 1.0.0 }
spec:
  match: { kinds: [Pod] }
  rules:
    - id: platform-key
      message: images from the platform's registry are signed by its key
      verifyImages:
        images: ["registry.acme.dev/*"]
        mutateDigest: true
        keys:
          - |
            -----BEGIN PUBLIC KEY-----
            MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENptdY/l3nB0yqkXLBWkZWQwo6+cu
            OSWS1X9vPavpiQOoTTGC0xX57OojUadxF1cdQmrsiReWg2Wn4FneJfa8xw==
            -----END PUBLIC KEY-----
`

test('image verdicts are given as the CLI records them, and digests written back', () => {
  const engine = Engine.fromYaml(SIGNED_IMAGES)
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { containers: [{ name: 'web', image: 'registry.acme.dev/shop/web:1.2' }] },
  }
  const [request] = engine.imageRequests(pod)
  assert.equal(request.image, 'registry.acme.dev/shop/web:1.2')
  const digest = 'sha256:' + 'a'.repeat(64)
  /** @type {import('../index.js').ImageVerdict} */
  const verified = { image: request.image, requirement: request.requirement, outcome: 'verified', digest }
  // No verdict: not verified, fail closed.
  assert.equal(engine.check(pod, { now: NOW }).decision, 'deny')
  assert.equal(engine.check(pod, { now: NOW, images: [verified] }).decision, 'allow')
  const recorded = { apiVersion: 'paved.dev/v1', kind: /** @type {const} */ ('ImageVerdicts'), verdicts: [verified] }
  const { objects, report } = engine.mutate(pod, { now: NOW, images: recorded })
  assert.equal(objects[0].spec.containers[0].image, `registry.acme.dev/shop/web:1.2@${digest}`)
  assert.equal(report.decision, 'allow')
  const refused = { ...verified, outcome: /** @type {const} */ ('refused'), reason: 'it is not signed' }
  const denied = engine.check(pod, { now: NOW, images: [refused] })
  assert.equal(denied.decision, 'deny')
  assert.match(denied.findings[0].detail ?? '', /it is not signed/)
  assert.throws(
    () => engine.check(pod, { now: NOW, images: [/** @type {any} */ ({ image: 'x' })] }),
    (e) => e instanceof PavedError && e.kind === 'InputError' && /images/.test(e.message),
  )
})

test('a Terraform plan is a resource per change, its unknowns unknown', () => {
  const plan = JSON.parse(readFileSync(join(ROOT, 'examples', 'terraform', 'plan.json'), 'utf8'))
  const engine = new Engine({ packs: ['terraform-baseline', 'cost'] })
  const report = engine.check(plan, { now: NOW })
  assert.equal(report.resources.length, 8)
  assert.ok(report.resources.some((r) => r.resource.name === 'aws_s3_bucket_policy.exports'))
  assert.equal(report.summary.unknown, 1)
  assert.equal(report.summary.denied, 5)
  const cost = report.resources.flatMap((r) => r.costs ?? [])
  assert.deepEqual(cost.map((c) => [c.item, c.delta, c.group]), [['c5.4xlarge in eu-west-1', 560.64, 'dev']])
})
