// The playground: paved's engine (the paved:engine component, transpiled by jco) in the page.
// Nothing leaves the browser; the state lives in the URL's fragment when shared.
import { api } from './engine/paved_engine.js';
import { Editor } from './editor.js';

const $ = (id) => document.getElementById(id);
const escape = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

const PRIVILEGED_POD = `apiVersion: v1
kind: Pod
metadata:
  name: debug
  namespace: shop
spec:
  containers:
    - name: shell
      image: registry.acme.dev/tools/shell:1.4.2
      securityContext:
        privileged: true
      resources:
        requests: {cpu: 50m, memory: 64Mi}
        limits: {memory: 64Mi}
`;

const CEL_BUNDLE = `apiVersion: paved.dev/v1
kind: Policy
metadata:
  name: team-label
  version: 1.0.0
spec:
  description: Every workload names the team that owns it.
  severity: medium
  match:
    kinds: [Deployment, StatefulSet]
  rules:
    - id: has-team
      path: /metadata/labels
      message: workloads must have a team label
      messageExpression: >-
        object.kind + ' ' + object.metadata.name + ' has no team label'
      help: add metadata.labels.team
      cel: has(object.metadata.labels) && 'team' in object.metadata.labels
---
apiVersion: paved.dev/v1
kind: PolicyException
metadata:
  name: legacy-cart
spec:
  policies:
    - name: team-label
  match:
    kinds: [Deployment]
    names: [cart]
  owner: team-shop
  reason: the cart is being split up and its owners change with it
  ticket: SHOP-17
  approvedBy: platform-team
  created: 2026-11-01
  expires: 2027-01-29
`;

const CEL_RESOURCES = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: search
  namespace: shop
spec:
  selector: {matchLabels: {app: search}}
  template:
    metadata: {labels: {app: search}}
    spec:
      containers:
        - name: search
          image: registry.acme.dev/shop/search:2.3.1
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cart
  namespace: shop
spec:
  selector: {matchLabels: {app: cart}}
  template:
    metadata: {labels: {app: cart}}
    spec:
      containers:
        - name: cart
          image: registry.acme.dev/shop/cart:5.0.0
`;

const state = {
  tab: 'check',
  resources: PRIVILEGED_POD,
  bundle: '',
  namespaces: 'shop: {env: prod}\n',
  packs: null, // the default packs
  now: '',
  operation: 'CREATE',
  set: '',
  format: 'findings',
  goldenPath: '',
  inputs: null,
};

let samples = { check: {}, inputs: {} };
let packs = [];
let goldenPaths = [];

// The URL fragment: the state as JSON, deflated and base64url-encoded.
async function encodeState() {
  const bytes = new TextEncoder().encode(JSON.stringify(state));
  const deflated = await new Response(new Blob([bytes]).stream().pipeThrough(new CompressionStream('deflate-raw'))).arrayBuffer();
  let binary = '';
  for (const b of new Uint8Array(deflated)) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function decodeState(text) {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  const inflated = new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate-raw')));
  return JSON.parse(await inflated.text());
}

const editors = {};

const doc = (name, text) => (text.trim() ? [{ name, text }] : []);

// The engine is built again only when what it is made of changes.
let built = { key: '', engine: null };

function engine() {
  const options = {
    packs: state.packs ?? packs.filter((p) => p.default).map((p) => p.name),
    bundle: doc('bundle.yaml', state.bundle),
    exceptions: [],
    set: state.set.split(';').map((s) => s.trim()).filter(Boolean),
  };
  const key = JSON.stringify(options);
  if (key !== built.key) {
    built.engine?.[Symbol.dispose]?.();
    // Forgotten first: if the bundle does not load, no disposed engine is kept.
    built = { key: '', engine: null };
    built = { key, engine: api.Engine.create(options) };
  }
  return built.engine;
}

function context() {
  return {
    now: state.now.trim() || undefined,
    operation: state.operation,
    namespace: undefined,
    namespaceLabels: doc('namespaces.yaml', state.namespaces),
  };
}

const MARK = { Deny: 'deny', Warn: 'warn', Audit: 'audit' };

/** Marks, in each editor, the lines findings or diagnostics point at. */
function markLines(points) {
  const byFile = new Map();
  for (const { file, line, mark } of points) {
    if (!byFile.has(file)) byFile.set(file, new Map());
    const marks = byFile.get(file);
    if (!marks.has(line) || mark === 'deny' || mark === 'error') marks.set(line, mark);
  }
  for (const editor of Object.values(editors)) editor.mark(byFile.get(editor.file) ?? new Map());
}

function reveal(file, line) {
  const editor = Object.values(editors).find((e) => e.file === file);
  if (editor && line) editor.reveal(line);
}

/** Findings as list items: severity, action, rule, message, help, and where. */
function findingItems(list, findings, { explainable = true } = {}) {
  list.innerHTML = '';
  for (const f of findings) {
    const li = document.createElement('li');
    li.className = `${f.action}${f.waivedBy ? ' waived' : ''}`;
    li.dataset.file = f.source?.file ?? '';
    li.dataset.line = f.source?.line ?? '';
    const rule = `${f.policy}/${f.rule}`;
    const what = `${f.resource.kind} ${f.resource.namespace ? f.resource.namespace + '/' : ''}${f.resource.name}`;
    li.innerHTML = `<div class="head"><span class="action">${escape(f.waivedBy ? 'waived' : f.action)}</span>`
      + `<span class="severity">${escape(f.severity)}</span>`
      + `<span class="rule">${explainable ? `<a href="#" data-rule="${escape(rule)}">${escape(rule)}</a>` : escape(rule)}</span>`
      + `<span class="where">${escape(what)}${f.source ? ` · line ${f.source.line}` : ''}</span></div>`
      + `<p class="message">${escape(f.message)}</p>`
      + (f.help ? `<p class="help">${escape(f.help)}</p>` : '')
      + (f.waivedBy ? `<p class="help">waived by ${escape(f.waivedBy)}</p>` : '');
    li.addEventListener('click', (e) => {
      const link = e.target.closest('a[data-rule]');
      if (link) {
        e.preventDefault();
        explain(link.dataset.rule);
      }
      list.querySelectorAll('.selected').forEach((s) => s.classList.remove('selected'));
      li.classList.add('selected');
      if (f.source) reveal(f.source.file, f.source.line);
    });
    list.append(li);
  }
}

/** A call's error: its diagnostics listed and their lines marked. */
function showError(list, decision, summary, e) {
  const err = e?.payload ?? { kind: 'internal', message: String(e), diagnostics: [] };
  decision.className = 'decision error';
  decision.textContent = err.kind;
  summary.textContent = err.message.split('\n')[0];
  list.innerHTML = '';
  const diagnostics = err.diagnostics.length ? err.diagnostics : [{ message: err.message, file: '', line: 0 }];
  for (const d of diagnostics) {
    const li = document.createElement('li');
    li.className = 'error';
    li.dataset.file = d.file;
    li.dataset.line = d.line;
    li.innerHTML = `<div class="head"><span class="action">error</span><span class="where">${escape(d.file)}${d.line ? `:${d.line}:${d.column}` : ''}</span></div>`
      + `<p class="message">${escape(d.message)}</p>${d.help ? `<p class="help">${escape(d.help)}</p>` : ''}`;
    li.addEventListener('click', () => reveal(d.file, d.line));
    list.append(li);
  }
  markLines(diagnostics.filter((d) => d.line).map((d) => ({ file: d.file, line: d.line, mark: 'error' })));
}

function check() {
  const list = $('findings');
  const raw = $('raw');
  try {
    const resources = doc('resources.yaml', state.resources);
    const checker = engine();
    const json = checker.check(resources, context(), 'json');
    const report = JSON.parse(json.output);
    $('decision').className = `decision ${report.decision}`;
    $('decision').textContent = report.decision;
    const s = report.summary;
    $('summary').textContent = `${plural(s.resources, 'resource')} · ${s.denied} denied · ${s.warned} warned · ${s.audited} audited · ${s.waived} waived`;
    findingItems(list, report.findings);
    markLines(report.findings.filter((f) => f.source && !f.waivedBy).map((f) => ({ file: f.source.file, line: f.source.line, mark: MARK[f.action] })));
    const format = state.format;
    raw.hidden = format === 'findings';
    list.hidden = format !== 'findings';
    if (format !== 'findings') raw.textContent = format === 'json' ? json.output : checker.check(resources, context(), format).output;
    status('ready');
  } catch (e) {
    raw.hidden = true;
    list.hidden = false;
    showError(list, $('decision'), $('summary'), e);
  }
}

function explain(rule) {
  const aside = $('explain');
  try {
    const found = JSON.parse(api.explain(rule, doc('bundle.yaml', state.bundle)));
    aside.innerHTML = found.map(({ policy, rules }) => `<h3>${escape(policy.name)} <small>${escape(policy.version)} · ${escape(policy.action)}</small></h3>`
      + (policy.description ? `<p>${escape(policy.description)}</p>` : '')
      + rules.map((r) => `<p><code>${escape(r.id)}</code> <small>${escape(r.severity)}</small><br>${escape(r.description ?? r.message)}`
        + (r.help ? `<br><small>${escape(r.help)}</small>` : '') + '</p>').join('')).join('');
  } catch (e) {
    aside.textContent = e?.payload?.message ?? String(e);
  }
  aside.hidden = false;
}

function render() {
  const list = $('render-findings');
  const path = goldenPaths.find((p) => `${p.name}@${p.version}` === state.goldenPath);
  $('golden-description').textContent = path ? `${path.description ?? ''}${path.deprecated ? ' (deprecated)' : ''}` : '';
  try {
    const out = api.render(state.goldenPath, { name: 'inputs.yaml', text: state.inputs ?? '' }, []);
    const report = JSON.parse(out.report);
    $('render-decision').className = `decision ${report.decision}`;
    $('render-decision').textContent = report.decision;
    $('render-summary').textContent = `${out.goldenPath}: ${plural(report.summary.resources, 'manifest')} · ${plural(report.summary.findings, 'finding')}`;
    editors.manifests.value = out.manifests;
    findingItems(list, report.findings, { explainable: false });
    markLines([]);
  } catch (e) {
    const err = e?.payload;
    if (err?.kind === 'non-compliant' && err.report) {
      const report = JSON.parse(err.report);
      $('render-decision').className = 'decision deny';
      $('render-decision').textContent = 'deny';
      $('render-summary').textContent = err.message.split('\n')[0];
      findingItems(list, report.findings, { explainable: false });
      editors.manifests.value = '';
      return;
    }
    editors.manifests.value = '';
    showError(list, $('render-decision'), $('render-summary'), e);
  }
}

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

function status(text, error = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', error);
}

function debounce(f, ms = 250) {
  let timer;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(f, ms);
  };
}

const recheck = debounce(check);
const rerender = debounce(render);

function selectTab(tab) {
  state.tab = tab;
  for (const name of ['check', 'golden']) {
    $(name).hidden = name !== tab;
    $(`tab-${name}`).setAttribute('aria-selected', String(name === tab));
  }
  if (tab === 'golden') render();
  else check();
}

function showState() {
  editors.resources.value = state.resources;
  editors.bundle.value = state.bundle;
  editors.namespaces.value = state.namespaces;
  $('now').value = state.now;
  $('operation').value = state.operation;
  $('set').value = state.set;
  $('format').value = state.format;
  const enabled = state.packs ?? packs.filter((p) => p.default).map((p) => p.name);
  for (const box of $('packs').querySelectorAll('input')) box.checked = enabled.includes(box.value);
  if (!goldenPaths.some((p) => `${p.name}@${p.version}` === state.goldenPath)) {
    const latest = goldenPaths.filter((p) => p.name === 'web-service').at(-1) ?? goldenPaths.at(-1);
    state.goldenPath = latest ? `${latest.name}@${latest.version}` : '';
  }
  $('golden-path').value = state.goldenPath;
  state.inputs ??= samples.inputs[state.goldenPath.split('@')[0]] ?? '';
  editors.inputs.value = state.inputs;
  selectTab(state.tab);
}

function loadExample(name) {
  if (name === 'privileged') Object.assign(state, { resources: PRIVILEGED_POD, bundle: '', packs: null });
  if (name === 'cel') Object.assign(state, { resources: CEL_RESOURCES, bundle: CEL_BUNDLE, packs: [] });
  if (name === 'acme' && samples.check.acme) Object.assign(state, { ...samples.check.acme, packs: null });
  state.tab = 'check';
  showState();
}

async function main() {
  samples = await fetch('samples.json').then((r) => r.json()).catch(() => samples);
  packs = api.packs();
  goldenPaths = JSON.parse(api.goldenPaths()).sort((a, b) => a.name.localeCompare(b.name) || compareVersions(a.version, b.version));
  for (const p of packs) {
    const label = document.createElement('label');
    label.title = p.description;
    label.innerHTML = `<input type="checkbox" value="${escape(p.name)}"> ${escape(p.name)}`;
    $('packs').append(label);
  }
  $('golden-path').innerHTML = goldenPaths
    .map((p) => `<option value="${escape(p.name)}@${escape(p.version)}">${escape(p.name)} ${escape(p.version)}${p.deprecated ? ' (deprecated)' : ''}</option>`)
    .join('');

  editors.resources = new Editor($('resources'), { onChange: (v) => { state.resources = v; recheck(); } });
  editors.bundle = new Editor($('bundle'), { onChange: (v) => { state.bundle = v; recheck(); } });
  editors.namespaces = new Editor($('namespaces'), { onChange: (v) => { state.namespaces = v; recheck(); } });
  editors.inputs = new Editor($('inputs'), { onChange: (v) => { state.inputs = v; rerender(); } });
  editors.manifests = new Editor($('manifests'), { readOnly: true });

  $('packs').addEventListener('change', () => {
    state.packs = [...$('packs').querySelectorAll('input:checked')].map((b) => b.value);
    check();
  });
  for (const id of ['now', 'set']) $(id).addEventListener('input', () => { state[id] = $(id).value; recheck(); });
  for (const id of ['operation', 'format']) $(id).addEventListener('change', () => { state[id] = $(id).value; check(); });
  $('golden-path').addEventListener('change', () => {
    const before = state.goldenPath.split('@')[0];
    state.goldenPath = $('golden-path').value;
    const name = state.goldenPath.split('@')[0];
    if (name !== before) editors.inputs.value = state.inputs = samples.inputs[name] ?? '';
    render();
  });
  $('tab-check').addEventListener('click', () => selectTab('check'));
  $('tab-golden').addEventListener('click', () => selectTab('golden'));
  $('example').addEventListener('change', () => loadExample($('example').value));
  $('share').addEventListener('click', async () => {
    const url = `${location.origin}${location.pathname}#${await encodeState()}`;
    history.replaceState(null, '', url);
    $('share-url').hidden = false;
    $('share-url').value = url;
    $('share-url').select();
    navigator.clipboard?.writeText(url).then(() => status('link copied'), () => status('link ready'));
  });

  if (location.hash.length > 1) {
    try {
      Object.assign(state, await decodeState(location.hash.slice(1)));
    } catch (e) {
      status(`the link's state does not read: ${e.message}`, true);
    }
  }
  showState();
  if (!$('status').classList.contains('error')) status('ready');
}

function compareVersions(a, b) {
  const pa = a.split(/[.-]/).map(Number);
  const pb = b.split(/[.-]/).map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

main().catch((e) => status(`the engine did not start: ${e.message ?? e}`, true));
