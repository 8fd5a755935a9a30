// Builds the playground into dist/: a static site with no server side.
//   dist/engine/   paved_engine.wasm transpiled by jco (JavaScript + core WebAssembly)
//   dist/shim/     the browser half of @bytecodealliance/preview2-shim (WASI in the browser)
//   dist/samples.json  examples from ../examples, so the page never drifts from them
// Run scripts/build-wasm first: it builds target/wasm32-wasip2/wasm/paved_engine.wasm.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const component = join(root, 'target/wasm32-wasip2/wasm/paved_engine.wasm');
if (!existsSync(component)) {
  console.error(`${component} is missing: run scripts/build-wasm first`);
  process.exit(2);
}
const dist = join(here, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist);

execFileSync(
  process.execPath,
  [join(here, 'node_modules/@bytecodealliance/jco/dist/jco.js'), 'transpile', component,
   '--out-dir', join(dist, 'engine'), '--name', 'paved_engine', '--quiet'],
  { stdio: 'inherit' },
);
cpSync(join(here, 'node_modules/@bytecodealliance/preview2-shim/dist/browser'), join(dist, 'shim'), {
  recursive: true,
  filter: (f) => !f.endsWith('.d.ts'),
});
cpSync(join(here, 'src'), dist, { recursive: true });

const read = (p) => readFileSync(join(root, p), 'utf8');
const samples = {
  check: {
    acme: {
      bundle: read('examples/bundle/workloads.yaml') + '---\n' + read('examples/bundle/exceptions.yaml'),
      resources: read('examples/manifests/storefront.yaml') + '---\n' + read('examples/manifests/billing.yaml'),
    },
  },
  inputs: {
    'web-service': read('examples/services/checkout.yaml'),
    worker: read('examples/services/ledger-sync.yaml'),
    'cron-job': read('examples/services/nightly-report.yaml'),
  },
};
writeFileSync(join(dist, 'samples.json'), JSON.stringify(samples, null, 2));
console.log(`playground built in ${dist}`);
