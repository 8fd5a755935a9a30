'use strict'
// paved from Node: the engine the paved CLI and webhook run. Objects cross to the native
// engine as JSON text; reports come back as plain objects.

const native = require('./native.js')

/** Any error paved raises; `kind` says which (LoadError, InputError, GoldenPathError,
 *  NonCompliantError), `diagnostics` where and why. */
class PavedError extends Error {
  constructor(kind, message, diagnostics, report) {
    super(message)
    this.name = 'PavedError'
    this.kind = kind
    this.diagnostics = diagnostics || []
    if (report) this.report = report
  }
}

/** Runs a native call, turning its errors into PavedErrors. */
function call(f) {
  try {
    return f()
  } catch (e) {
    throw wrap(e)
  }
}

function wrap(e) {
  const message = e && typeof e.message === 'string' ? e.message : ''
  if (!message.startsWith('paved:')) return e
  const body = JSON.parse(message.slice('paved:'.length))
  return new PavedError(body.kind, body.message, body.diagnostics, body.report || undefined)
}

function instant(now) {
  if (now === undefined || now === null) return undefined
  if (now instanceof Date) return now.toISOString()
  return String(now)
}

function options(o = {}) {
  return JSON.stringify({
    now: instant(o.now),
    operation: o.operation,
    namespaces: o.namespaces,
    userInfo: o.userInfo,
    namespace: o.namespace,
    inventory: o.inventory,
    inventoryComplete: o.inventoryComplete,
    images: o.images,
  })
}

function report(nativeReport) {
  const r = JSON.parse(nativeReport.json())
  Object.defineProperty(r, 'format', { value: (name) => call(() => nativeReport.format(name)), enumerable: false })
  return r
}

class Engine {
  /**
   * @param {{bundle?: string | string[], packs?: string[], set?: Record<string, unknown>,
   *          exceptions?: string | string[], plugins?: Record<string, string>}} [opts]
   */
  constructor(opts = {}) {
    if (opts === FROM_NATIVE) return
    this._native = call(() => new native.NativeEngine(JSON.stringify(opts)))
  }

  /** An engine from the text of one bundle file; plugins are given as bytes by name. */
  static fromYaml(text, opts = {}) {
    const engine = new Engine(FROM_NATIVE)
    const plugins = Object.entries(opts.plugins || {}).map(([name, bytes]) => [name, Buffer.from(bytes)])
    engine._native = call(() =>
      native.NativeEngine.fromYaml(text, opts.file || 'bundle.yaml', JSON.stringify(opts.set || {}), plugins),
    )
    return engine
  }

  /** Evaluates objects (an object, an array of them, or YAML/JSON text) on this thread. */
  check(objects, opts) {
    if (typeof objects === 'string') {
      return report(call(() => this._native.checkText(objects, (opts && opts.file) || '<input>', options(opts))))
    }
    return report(call(() => this._native.check(JSON.stringify(objects), options(opts))))
  }

  /** Reads and evaluates files and directories, as `paved check PATHS` does. */
  checkPaths(paths, opts) {
    return report(call(() => this._native.checkPaths([].concat(paths), options(opts))))
  }

  /** As `check`, on libuv's thread pool. */
  async checkAsync(objects, opts) {
    const json = typeof objects === 'string' ? null : JSON.stringify(objects)
    if (json === null) return this.check(objects, opts)
    try {
      return report(await this._native.checkAsync(json, options(opts)))
    } catch (e) {
      throw wrap(e)
    }
  }

  /** Mutates objects (an object or an array of them), then validates what the mutations made:
   *  the objects as they left them, in order, the changes, and the report. */
  mutate(objects, opts) {
    const native = call(() => this._native.mutate(JSON.stringify(objects), options(opts)))
    const r = report(native)
    return { objects: JSON.parse(native.objects()), patches: r.patches || [], report: r }
  }

  /** Answers an AdmissionReview with the AdmissionReview response, as the webhook does. */
  admit(review, opts = {}) {
    return JSON.parse(call(() => this._native.admit(JSON.stringify(review), instant(opts.now))))
  }

  /** The images of objects that `verifyImages` rules ask to be verified: verify them
   *  (`paved check --record-image-verdicts` does) and give the verdicts as `images`. */
  imageRequests(objects) {
    return JSON.parse(call(() => this._native.imageRequests(JSON.stringify(objects))))
  }

  policies() {
    return JSON.parse(this._native.policies())
  }

  exceptions(now) {
    return JSON.parse(call(() => this._native.exceptions(instant(now))))
  }
}

const FROM_NATIVE = Symbol('paved.native')

module.exports = {
  Engine,
  PavedError,
  render: (goldenPath, inputs, opts = {}) => JSON.parse(call(() => native.render(goldenPath, JSON.stringify(inputs), opts.bundle))),
  conform: (objects, opts = {}) => JSON.parse(call(() => native.conform(JSON.stringify(objects), opts.bundle, instant(opts.now)))),
  upgrade: (from, inputs, opts = {}) =>
    JSON.parse(call(() => native.upgrade(from, JSON.stringify(inputs), opts.to || '*', opts.bundle))),
  upgradePaths: (paths, opts = {}) =>
    JSON.parse(call(() => native.upgradePaths(paths, opts.to || '*', opts.prefer, opts.bundle, Boolean(opts.write)))),
  catalog: (objects, opts = {}) => JSON.parse(call(() => native.catalog(JSON.stringify(objects), opts.bundle, instant(opts.now)))),
  outdated: (objects, opts = {}) => JSON.parse(call(() => native.outdated(JSON.stringify(objects), opts.bundle, instant(opts.now)))),
  inputsSchema: (goldenPath, opts = {}) => JSON.parse(call(() => native.inputsSchema(goldenPath, opts.bundle))),
  packs: () => JSON.parse(native.packs()),
  toYaml: (value) => call(() => native.toYaml(JSON.stringify(value))),
}
