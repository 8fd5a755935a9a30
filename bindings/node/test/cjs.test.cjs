// CommonJS loads the same package.
const assert = require('node:assert/strict')
const { test } = require('node:test')

test('require() gives the same API as import', async () => {
  const cjs = require('..')
  const esm = await import('../index.mjs')
  assert.equal(cjs.Engine, esm.Engine)
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 's' }, spec: { hostPID: true, containers: [] } }
  assert.equal(new cjs.Engine({ packs: ['pod-security-baseline'] }).check(pod).findings[0].rule, 'hostNamespaces')
})
