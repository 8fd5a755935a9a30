// The playground end to end in headless Chromium (Debian's, driven by playwright-core): the page
// loads the engine, a pasted privileged Pod is denied with its line marked, a golden path
// renders, the state survives a shared link. Screenshots go to ../target/playground/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { serve } from './serve.mjs';

const SHOTS = fileURLToPath(new URL('../../target/playground/', import.meta.url));
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

const POD = `apiVersion: v1
kind: Pod
metadata:
  name: debug
  namespace: default
spec:
  containers:
    - name: shell
      image: registry.acme.dev/tools/shell:1.4.2
      securityContext:
        privileged: true
`;
const PRIVILEGED_LINE = POD.split('\n').findIndex((l) => l.includes('privileged: true')) + 1;

let server;
let browser;
let url;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await serve();
  url = `http://127.0.0.1:${server.address().port}/`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // This machine's network is closed: no background connections, no sandbox as root.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

async function open(address = url) {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(address);
  await page.waitForFunction(() => ['ready', 'link copied', 'link ready'].includes(document.getElementById('status').textContent),
    null, { timeout: 60_000 }).catch(async (e) => {
    throw new Error(`${e.message}; status: ${await page.textContent('#status')}; errors: ${errors.join(' | ')}`);
  });
  return { page, errors };
}

/** Replaces an editor's text as a paste does. */
async function paste(page, editor, text) {
  const area = page.locator(`#${editor} textarea`);
  await area.focus();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(text);
}

test('a pasted privileged Pod is denied, and its line is marked', async () => {
  const { page, errors } = await open();
  await paste(page, 'resources', POD);
  // The page's own example is a privileged Pod too, in `shop`: wait for this one's finding.
  const finding = page.locator('#findings li', { hasText: 'Pod default/debug' }).filter({ hasText: 'pod-security-baseline/privileged' });
  await finding.waitFor();
  assert.equal(await page.textContent('#decision'), 'deny');
  assert.match(await finding.textContent(), /high/);
  assert.match(await finding.textContent(), /must not set securityContext\.privileged=true/);
  assert.match(await finding.textContent(), /remove securityContext\.privileged/, 'the help is shown');
  assert.equal(await finding.getAttribute('data-line'), String(PRIVILEGED_LINE));
  const marked = page.locator(`#resources .backdrop .line[data-line="${PRIVILEGED_LINE}"]`);
  assert.match(await marked.getAttribute('class'), /\bdeny\b/);

  await finding.click();
  assert.match(await marked.getAttribute('class'), /\bfocus\b/);
  const selected = await page.$eval('#resources textarea', (t) => t.value.slice(t.selectionStart, t.selectionEnd));
  assert.equal(selected.trim(), 'privileged: true');
  await page.screenshot({ path: `${SHOTS}check.png` });

  await finding.locator('a[data-rule]').click();
  assert.match(await page.textContent('#explain'), /privileged/);

  await page.selectOption('#format', 'sarif');
  await page.waitForFunction(() => document.getElementById('raw').textContent.includes('"version": "2.1.0"'));
  assert.deepEqual(errors, []);
  await page.close();
});

test('a bundle with a typo is refused with the line of the typo marked', async () => {
  const { page } = await open();
  await paste(page, 'bundle', 'apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {name: p, version: 1.0.0}\nspec:\n  actoin: Deny\n  rules: []\n');
  await page.locator('#findings li.error').first().waitFor();
  assert.equal(await page.textContent('#decision'), 'load');
  assert.match(await page.textContent('#findings'), /actoin/);
  assert.match(await page.locator('#bundle .backdrop .line[data-line="5"]').getAttribute('class'), /\berror\b/);
  await page.close();
});

test('a golden path renders from its inputs, and bad inputs are pointed at', async () => {
  const { page, errors } = await open();
  await page.click('#tab-golden');
  await page.selectOption('#golden-path', 'web-service@2.0.0');
  await page.waitForFunction(() => document.querySelector('#manifests textarea').value.includes('kind: Deployment'));
  const manifests = await page.$eval('#manifests textarea', (t) => t.value);
  assert.match(manifests, /^# Rendered by paved from web-service@2\.0\.0/);
  assert.match(manifests, /kind: PodDisruptionBudget/);
  assert.notEqual(await page.textContent('#render-decision'), 'deny');
  await page.screenshot({ path: `${SHOTS}golden-path.png` });

  const inputs = await page.$eval('#inputs textarea', (t) => t.value);
  await paste(page, 'inputs', inputs.replace(/^name: .*$/m, 'name: Checkout_Service'));
  await page.locator('#render-findings li.error').first().waitFor();
  assert.equal(await page.textContent('#render-decision'), 'input');
  const line = Number(await page.locator('#render-findings li.error').first().getAttribute('data-line'));
  assert.ok(line >= 1);
  assert.match(await page.locator(`#inputs .backdrop .line[data-line="${line}"]`).getAttribute('class'), /\berror\b/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the state is shared as a link', async () => {
  const { page } = await open();
  await paste(page, 'resources', POD);
  await page.fill('#now', '2026-12-05T00:00:00Z');
  await page.locator('#findings li', { hasText: 'Pod default/debug' }).first().waitFor();
  await page.click('#share');
  await page.waitForFunction(() => document.getElementById('share-url').value.includes('#'));
  const link = await page.inputValue('#share-url');
  await page.close();

  const { page: shared } = await open(link);
  assert.equal(await shared.$eval('#resources textarea', (t) => t.value), POD);
  assert.equal(await shared.inputValue('#now'), '2026-12-05T00:00:00Z');
  await shared.locator('#findings li', { hasText: 'Pod default/debug' }).filter({ hasText: 'pod-security-baseline/privileged' }).waitFor();
  await shared.close();
});
