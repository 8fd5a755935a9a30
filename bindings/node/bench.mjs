// Times engine.check from Node on the evaluate bench's 3 KB Deployment and 23-rule bundle
// (benches/data/), and 10,000 objects in one checkAsync. `bash benches/node.sh` runs it beside
// the Rust evaluate bench, in the same run.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

import { Engine } from './index.mjs'

const DATA = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'benches', 'data')
const NOW = '2026-06-01T00:00:00Z'

function median(f, runs, inner) {
  const times = []
  for (let r = 0; r < runs; r++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < inner; i++) f()
    times.push(Number(process.hrtime.bigint() - start) / inner)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]
}

const engine = Engine.fromYaml(readFileSync(join(DATA, 'bundle.yaml'), 'utf8'))
const text = readFileSync(join(DATA, 'deployment.yaml'), 'utf8')
const deployment = parse(text)
if (engine.check(deployment, { now: NOW }).summary.findings === 0) throw new Error('the bench should exercise findings')
for (let i = 0; i < 3000; i++) engine.check(deployment, { now: NOW })
const one = median(() => engine.check(deployment, { now: NOW }), 30, 1000)
console.log(`node engine.check(object), 3 KB Deployment, 23 rules: ${(one / 1000).toFixed(1)} µs (median of 30 × 1,000)`)
const fromText = median(() => engine.check(text, { now: NOW }), 30, 1000)
console.log(`node engine.check(YAML text), same:                ${(fromText / 1000).toFixed(1)} µs`)
const many = Array.from({ length: 10_000 }, (_, i) => ({ ...deployment, metadata: { ...deployment.metadata, name: `web-${i}` } }))
const times = []
for (let r = 0; r < 5; r++) {
  const start = process.hrtime.bigint()
  const report = await engine.checkAsync(many, { now: NOW })
  times.push(Number(process.hrtime.bigint() - start) / 1e6)
  if (report.summary.resources !== 10_000) throw new Error('10,000 resources')
}
times.sort((a, b) => a - b)
console.log(`node engine.checkAsync(10,000 objects), one call:   ${times[2].toFixed(1)} ms (${((times[2] * 1000) / 10_000).toFixed(1)} µs each, all cores)`)
