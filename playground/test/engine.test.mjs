// The transpiled component (what the playground runs) gives the native CLI's reports, byte for
// byte, under Node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { api } from '../dist/engine/paved_engine.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PAVED = process.env.PAVED_BIN ?? join(ROOT, 'target/debug/paved');
const NOW = '2026-12-05T00:00:00Z';

function native(args) {
  assert.ok(existsSync(PAVED), `${PAVED} is missing: cargo build -p paved-cli (or set PAVED_BIN)`);
  try {
    return execFileSync(PAVED, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  } catch (e) {
    return e.stdout;
  }
}

const docs = (dir) => readdirSync(join(ROOT, dir)).sort().map((f) => ({ name: `${dir}/${f}`, text: readFileSync(join(ROOT, dir, f), 'utf8') }));

const options = (more) => ({ packs: [], bundle: [], exceptions: [], set: [], ...more });
const context = { now: NOW, namespaceLabels: [] };

test('the examples are reported as the native CLI reports them, in every format', () => {
  const bundle = docs('examples/bundle');
  const manifests = docs('examples/manifests');
  for (const format of ['json', 'sarif', 'junit', 'github', 'policy-report']) {
    const expected = native(['check', '--bundle', 'examples/bundle', 'examples/manifests', '--now', NOW, '--format', format]);
    const got = api.check(options({ bundle }), manifests, context, format);
    assert.equal(got.output, expected, format);
    assert.equal(got.decision, 'deny');
  }
  const engine = api.Engine.create(options({ bundle }));
  const expected = native(['check', '--bundle', 'examples/bundle', 'examples/manifests', '--now', NOW, '--format', 'json']);
  for (let i = 0; i < 3; i++) assert.equal(engine.check(manifests, context, 'json').output, expected);
  assert.ok(JSON.parse(engine.policies()).some((p) => p.name === 'container-hygiene'));
});

test('a golden path renders as paved render does', () => {
  const inputs = { name: 'examples/services/nightly-report.yaml', text: readFileSync(join(ROOT, 'examples/services/nightly-report.yaml'), 'utf8') };
  const expected = native(['render', 'cron-job', '-f', 'examples/services/nightly-report.yaml']);
  assert.equal(api.render('cron-job', inputs, []).manifests, expected);
});

test('errors are ComponentErrors carrying where and why', () => {
  const broken = [{ name: 'bundle.yaml', text: 'apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {name: p}\nspec:\n  actoin: Deny\n' }];
  assert.throws(() => api.Engine.create(options({ bundle: broken })), (e) => {
    assert.equal(e.payload.kind, 'load');
    assert.ok(e.payload.diagnostics.some((d) => d.file === 'bundle.yaml' && d.line === 5), JSON.stringify(e.payload));
    return true;
  });
  assert.throws(() => api.check(options(), [{ name: 'r.yaml', text: 'kind: [' }], context, 'json'), (e) => e.payload.kind === 'input');
  assert.throws(() => api.render('web-service', { name: 'inputs.yaml', text: 'name: Checkout\n' }, []), (e) => {
    assert.equal(e.payload.kind, 'input');
    assert.ok(e.payload.diagnostics.length >= 2, 'every problem at once');
    return true;
  });
});
