'use strict'
// Scaffolder actions backed by paved: `paved:render` renders a golden path into the task's
// workspace, `paved:check` checks manifests in it. Both fail the task with paved's diagnostics
// or findings, so a developer sees the line, the field and the rule.

const fs = require('node:fs')
const path = require('node:path')
const { createTemplateAction } = require('@backstage/plugin-scaffolder-node')
const paved = require('paved')

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

module.exports = { renderAction, checkAction }
