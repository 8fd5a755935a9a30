'use strict'
// Scaffolder actions backed by paved: `paved:render` renders a golden path into the task's
// workspace, `paved:check` checks manifests in it, `paved:upgrade` moves services to a newer
// golden path version and `paved:conform` measures their drift. Each fails the task with
// paved's diagnostics, findings or conflicts, so the task log shows the line, the field and
// the rule.

const fs = require('node:fs')
const path = require('node:path')
const { createTemplateAction } = require('@backstage/plugin-scaffolder-node')
const paved = require('paved')
const { readObjects } = require('./catalog')

/** A path inside the workspace; `..` or an absolute path out of it is refused. */
function inside(workspace, relative) {
  const target = path.resolve(workspace, relative || '.')
  const root = path.resolve(workspace)
  if (target !== root && !target.startsWith(root + path.sep)) {
    throw new Error(`paved: ${relative} is outside the task's workspace`)
  }
  return target
}

/** A PavedError as the task log and failure show it: each diagnostic at its place. */
function describe(e) {
  if (!(e instanceof paved.PavedError)) return e
  const lines = e.diagnostics.map((d) => {
    const at = d.pointer ? ` (at ${d.pointer})` : ''
    const help = d.help ? `\n    help: ${d.help}` : ''
    return `  ${d.file}:${d.line}:${d.column}: ${d.message}${at}${help}`
  })
  if (e.kind === 'NonCompliantError' && e.report) lines.push(...findings(e.report.findings, 'Deny'))
  const error = new Error(lines.length ? `${e.message.split('\n')[0]}\n${lines.join('\n')}` : e.message)
  error.name = `paved ${e.kind}`
  return error
}

function findings(list, action) {
  return list
    .filter((f) => f.action === action && f.waivedBy === null)
    .map((f) => {
      const where = f.source ? ` ${f.source.file}:${f.source.line}` : ''
      return `  ${f.policy}/${f.rule}: ${f.resource.kind} ${f.resource.namespace}/${f.resource.name}: ${f.message}${where} (at ${f.path})`
    })
}

/** A file name for a manifest: `<kind>-<name>.yaml`, lower case. */
function fileName(manifest) {
  const safe = (s) => String(s || 'unnamed').toLowerCase().replace(/[^a-z0-9.-]+/g, '-')
  return `${safe(manifest.kind)}-${safe(manifest.metadata && manifest.metadata.name)}.yaml`
}

function renderAction(options = {}) {
  return createTemplateAction({
    id: 'paved:render',
    description: 'Renders a paved golden path into the workspace: complete, compliant manifests, one file per object.',
    schema: {
      input: {
        goldenPath: (z) => z.string().describe('NAME or NAME@RANGE, e.g. web-service@^2'),
        inputs: (z) => z.record(z.any()).describe("The golden path's inputs (the template's parameters)"),
        targetPath: (z) => z.string().optional().describe('Where in the workspace to write the manifests (default: k8s)'),
      },
      output: {
        goldenPath: (z) => z.string().describe('The NAME@VERSION rendered'),
        files: (z) => z.array(z.string()).describe('The files written, relative to the workspace'),
      },
    },
    async handler(ctx) {
      const target = ctx.input.targetPath || 'k8s'
      const dir = inside(ctx.workspacePath, target)
      let manifests
      try {
        manifests = paved.render(ctx.input.goldenPath, ctx.input.inputs, { bundle: options.bundle })
      } catch (e) {
        throw describe(e)
      }
      fs.mkdirSync(dir, { recursive: true })
      const files = manifests.map((m) => {
        const name = fileName(m)
        fs.writeFileSync(path.join(dir, name), paved.toYaml(m))
        return path.join(target, name)
      })
      const version = manifests[0] && manifests[0].metadata.annotations['paved.dev/golden-path']
      ctx.logger.info(`paved rendered ${version}: ${files.join(', ')}`)
      ctx.output('goldenPath', version)
      ctx.output('files', files)
    },
  })
}

function checkAction(options = {}) {
  return createTemplateAction({
    id: 'paved:check',
    description: "Checks the manifests at a path of the workspace with paved's policies; fails on a denial.",
    schema: {
      input: {
        path: (z) => z.string().optional().describe('A file or directory of the workspace (default: the workspace)'),
        packs: (z) => z.array(z.string()).optional().describe('Built-in packs to run (default: the default packs)'),
        failOn: (z) => z.enum(['deny', 'warn', 'never']).optional().describe('What fails the task (default: deny)'),
      },
      output: {
        decision: (z) => z.string().describe('allow, warn or deny'),
        report: (z) => z.any().describe("paved's report (the JSON contract)"),
      },
    },
    async handler(ctx) {
      const target = inside(ctx.workspacePath, ctx.input.path)
      let report
      try {
        const engine = new paved.Engine({ bundle: options.bundle, packs: ctx.input.packs })
        report = engine.checkPaths([target])
      } catch (e) {
        throw describe(e)
      }
      for (const f of report.findings.filter((f) => f.waivedBy === null)) {
        const where = f.source ? ` (${path.relative(ctx.workspacePath, f.source.file)}:${f.source.line})` : ''
        const line = `${f.action.toLowerCase()} ${f.policy}/${f.rule}: ${f.resource.kind} ${f.resource.namespace}/${f.resource.name}: ${f.message}${where}`
        if (f.action === 'Audit') ctx.logger.info(line)
        else ctx.logger.warn(line)
      }
      const s = report.summary
      ctx.logger.info(`paved: ${s.resources} resources, ${s.denied} denied, ${s.warned} warned, ${s.waived} waived → ${report.decision}`)
      ctx.output('decision', report.decision)
      ctx.output('report', JSON.parse(JSON.stringify(report)))
      const failOn = ctx.input.failOn || 'deny'
      if ((failOn === 'deny' && report.decision === 'deny') || (failOn === 'warn' && report.decision !== 'allow')) {
        throw new Error(`paved: the manifests are ${report.decision === 'deny' ? 'denied' : 'warned about'}:\n${findings(report.findings, 'Deny').concat(findings(report.findings, 'Warn')).join('\n')}`)
      }
    },
  })
}

/** A path inside the workspace that exists. */
function existing(workspace, relative) {
  const target = inside(workspace, relative)
  if (!fs.existsSync(target)) throw new Error(`paved: ${relative} does not exist in the task's workspace`)
  return target
}

/** One changed field of an upgrade, as the task log and output show it. */
function fieldLine(object, field) {
  const where = field.source ? ` (${field.source.file}:${field.source.line})` : ''
  const value = (v) => (v === undefined ? 'absent' : JSON.stringify(v))
  const sides = field.outcome === 'conflict' ? `: ours ${value(field.ours)}, theirs ${value(field.theirs)}` : ''
  return `${field.outcome} ${object.kind} ${object.name} ${field.path}${sides}${where}`
}

function upgradeAction(options = {}) {
  return createTemplateAction({
    id: 'paved:upgrade',
    description:
      "Upgrades the services whose manifests are at a path of the workspace to a newer golden path version, by a three-way merge that keeps the team's changes under extension points; rewrites the files in place.",
    schema: {
      input: {
        path: (z) => z.string().optional().describe('A file or directory of the workspace with the services\' manifests (default: the workspace)'),
        to: (z) => z.string().optional().describe('The versions to upgrade to, a semver range (default: the latest)'),
        prefer: (z) => z.enum(['ours', 'theirs']).optional().describe("Where the team and the new version changed the same field: keep the team's value or take the new version's; without it such a field is a conflict and fails the task"),
      },
      output: {
        services: (z) => z.array(z.any()).describe('Per service: from, to, status, conflicts, and every changed field with its outcome (upgraded, kept, reverted, ours, theirs, conflict)'),
        conflicts: (z) => z.number().describe('Fields both sides changed that nothing resolved'),
        files: (z) => z.array(z.string()).describe('The files rewritten, relative to the workspace'),
        summary: (z) => z.string().describe('A Markdown summary, for the pull request'),
      },
    },
    async handler(ctx) {
      const target = existing(ctx.workspacePath, ctx.input.path)
      let result
      try {
        result = paved.upgradePaths([target], { to: ctx.input.to, prefer: ctx.input.prefer, bundle: options.bundle, write: true })
      } catch (e) {
        throw describe(e)
      }
      const relative = (file) => path.relative(ctx.workspacePath, path.resolve(ctx.workspacePath, file))
      const services = result.plan.services.map((s) => {
        if (s.status !== 'upgrade') return { service: s.service, namespace: s.namespace, status: s.status, from: s.goldenPath, reason: s.reason }
        const fields = s.objects.flatMap((o) =>
          o.fields.map((f) => ({ object: o.object, disposition: o.disposition, ...f, source: f.source && { ...f.source, file: relative(f.source.file) } })),
        )
        return { service: s.service, namespace: s.namespace, status: s.conflicts ? 'conflict' : 'upgraded', from: s.upgrade.from, to: s.upgrade.to, conflicts: s.conflicts, fields }
      })
      for (const s of services) {
        ctx.logger.info(`paved: ${s.namespace}/${s.service}: ${s.status}${s.to ? ` ${s.from} → ${s.to}` : ''}${s.reason ? `: ${s.reason}` : ''}`)
        for (const f of s.fields || []) {
          const line = `  ${fieldLine(f.object, f)}`
          if (f.outcome === 'conflict') ctx.logger.warn(line)
          else ctx.logger.info(line)
        }
      }
      const conflicts = services.reduce((n, s) => n + (s.conflicts || 0), 0)
      const files = result.written.map(relative)
      const summary = [
        '| service | from | to | outcome |',
        '| --- | --- | --- | --- |',
        ...services.map((s) => `| ${s.namespace}/${s.service} | ${s.from || ''} | ${s.to || ''} | ${s.status}${s.conflicts ? ` (${s.conflicts} conflicts)` : ''} |`),
        '',
        ...services.flatMap((s) => (s.fields || []).map((f) => `- \`${s.service}\` ${fieldLine(f.object, f)}`)),
      ].join('\n')
      ctx.output('services', services)
      ctx.output('conflicts', conflicts)
      ctx.output('files', files)
      ctx.output('summary', summary)
      const refused = services.filter((s) => s.status === 'refused')
      if (conflicts > 0 || refused.length > 0) {
        const lines = services.flatMap((s) =>
          s.status === 'refused' ? [`  ${s.namespace}/${s.service}: ${s.reason}`] : (s.fields || []).filter((f) => f.outcome === 'conflict').map((f) => `  ${s.namespace}/${s.service}: ${fieldLine(f.object, f)}`),
        )
        throw new Error(`paved: ${conflicts} conflicting fields and ${refused.length} refused services are left (set prefer: ours or theirs to resolve conflicts); the clean services were written:\n${lines.join('\n')}`)
      }
    },
  })
}

function conformAction(options = {}) {
  return createTemplateAction({
    id: 'paved:conform',
    description: "Compares the services whose manifests are at a path of the workspace with what their golden path renders: drift, allowed extensions, findings and a drift score per service.",
    schema: {
      input: {
        path: (z) => z.string().optional().describe('A file or directory of the workspace (default: the workspace)'),
        failOnDrift: (z) => z.boolean().optional().describe('Fail the task when a service drifted, is denied or cannot be checked (default: false)'),
      },
      output: {
        services: (z) => z.array(z.any()).describe('Per service: golden path, score, standing and deviations'),
        summary: (z) => z.any().describe('Counts: services, conforming, drifted'),
      },
    },
    async handler(ctx) {
      const target = existing(ctx.workspacePath, ctx.input.path)
      let result
      try {
        const objects = readObjects(target)
        result = paved.conform(objects, { bundle: options.bundle })
      } catch (e) {
        throw describe(e)
      }
      const services = result.services.map((s) => ({
        service: s.service,
        namespace: s.namespace,
        goldenPath: s.goldenPath,
        standing: s.standing,
        score: s.score.total,
        deviations: s.deviations,
        error: s.error,
      }))
      for (const s of services) {
        const drift = s.deviations.filter((d) => d.kind === 'drift').length
        ctx.logger.info(`paved: ${s.namespace}/${s.service} on ${s.goldenPath}: score ${s.score}, ${drift} drifted fields${s.error ? `: ${s.error}` : ''}`)
      }
      ctx.output('services', services)
      ctx.output('summary', result.summary)
      if (ctx.input.failOnDrift && result.summary.conforming < result.summary.services) {
        throw new Error(`paved: ${result.summary.services - result.summary.conforming} of ${result.summary.services} services do not conform`)
      }
    },
  })
}

module.exports = { renderAction, checkAction, upgradeAction, conformAction }
