// The paved:engine component under Node (transpiled by jco, as the playground runs it): cold
// start (import: compile and instantiate the core WebAssembly) in fresh processes, and one check
// of the 3 KB Deployment against the 23-rule bundle, as benches/benches/wasm.rs measures it
// under wasmtime and natively. Run `npm run build` first.
//   node bench.mjs [runs]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const data = (f) => readFileSync(fileURLToPath(new URL(`../benches/data/${f}`, import.meta.url)), 'utf8');
const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
const options = () => ({ packs: [], bundle: [{ name: 'bundle.yaml', text: data('bundle.yaml') }], exceptions: [], set: [] });
const context = { now: '2026-06-01T00:00:00Z', namespaceLabels: [] };

if (process.argv[2] === 'cold') {
  const t0 = performance.now();
  const { api } = await import('./dist/engine/paved_engine.js');
  const t1 = performance.now();
  api.check(options(), [{ name: 'deployment.yaml', text: data('deployment.yaml') }], context, 'json');
  const t2 = performance.now();
  console.log(JSON.stringify({ instantiate: t1 - t0, first: t2 - t1 }));
} else {
  const runs = Number(process.argv[2] ?? 2000);
  const cold = [];
  for (let i = 0; i < 10; i++) {
    cold.push(JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), 'cold'], { encoding: 'utf8' })));
  }
  const { api } = await import('./dist/engine/paved_engine.js');
  const resources = [{ name: 'deployment.yaml', text: data('deployment.yaml') }];
  const engine = api.Engine.create(options());
  for (let i = 0; i < 200; i++) engine.check(resources, context, 'json');
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    engine.check(resources, context, 'json');
    times.push(performance.now() - t);
  }
  const oneShot = [];
  for (let i = 0; i < 50; i++) {
    const t = performance.now();
    api.check(options(), resources, context, 'json');
    oneShot.push(performance.now() - t);
  }
  console.log(`node ${process.version}, jco-transpiled paved_engine.wasm`);
  console.log(`cold start (import: compile + instantiate), median of 10 processes: ${median(cold.map((c) => c.instantiate)).toFixed(1)} ms`);
  console.log(`first check after instantiating, median of 10: ${median(cold.map((c) => c.first)).toFixed(2)} ms`);
  console.log(`engine.check of the 3 KB Deployment, 23 rules (parse, evaluate, JSON report), median of ${runs}: ${(median(times) * 1000).toFixed(1)} µs`);
  console.log(`check building the engine too (paved check), median of 50: ${median(oneShot).toFixed(2)} ms`);
}
