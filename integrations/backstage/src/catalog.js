'use strict'
// A catalog entity provider: the services that run, as `paved catalog` sees them, kept in
// Backstage's catalog on a schedule. Each refresh reads the sources (cluster exports: files or
// directories of `kubectl get -o yaml`, or anything `read` returns) and replaces the provider's
// whole set with a full mutation, so a service that no longer runs leaves the catalog. A source
// that fails, or gives nothing, changes nothing: the last good set stays, and the failure is
// logged and thrown to the scheduler.
//
// In packages/backend: backend.add(require('@paved/backstage-plugin-scaffolder-backend-module-paved').catalogModule)
// with app-config:
//   paved:
//     catalog:
//       sources: [/var/lib/exports/prod]
//       schedule: { frequency: { minutes: 30 }, timeout: { minutes: 3 } }

const fs = require('node:fs')
const path = require('node:path')
const {
  coreServices,
  createBackendModule,
  readSchedulerServiceTaskScheduleDefinitionFromConfig,
} = require('@backstage/backend-plugin-api')
const { catalogProcessingExtensionPoint } = require('@backstage/plugin-catalog-node')
const paved = require('paved')
const YAML = require('yaml')

/** The objects of every manifest file under `source`, in path order; a file that does not
 *  parse is an error that names it. */
function readObjects(source) {
  const stat = fs.statSync(source)
  const files = stat.isDirectory()
    ? fs
        .readdirSync(source, { recursive: true })
        .map(String)
        .filter((f) => /\.(ya?ml|json)$/.test(f) && !f.split(path.sep).some((part) => part.startsWith('.')))
        .sort()
        .map((f) => path.join(source, f))
    : [source]
  return files.flatMap((file) =>
    YAML.parseAllDocuments(fs.readFileSync(file, 'utf8')).flatMap((doc) => {
      if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}`)
      const value = doc.toJS()
      if (!value || typeof value !== 'object') return []
      return value.kind && value.kind.endsWith('List') && Array.isArray(value.items) ? value.items : [value]
    }),
  )
}

class PavedEntityProvider {
  /**
   * @param {object} options
   * @param {string} [options.name] tells providers apart (`paved:<name>`; default `default`)
   * @param {string[]} [options.sources] files or directories of exported objects
   * @param {() => Promise<object[]>} [options.read] the objects, from anywhere (instead of sources)
   * @param {string} [options.bundle] the platform's golden paths and exceptions
   * @param {{ run(task: { id: string, fn: () => Promise<void> }): Promise<void> }} options.taskRunner
   * @param {{ info(m: string): void, error(m: string): void }} options.logger
   */
  constructor(options) {
    this.name = options.name || 'default'
    this.read = options.read || (async () => (options.sources || []).flatMap(readObjects))
    this.sources = options.sources || []
    this.bundle = options.bundle
    this.taskRunner = options.taskRunner
    this.logger = options.logger
    this.connection = undefined
    /** The entities of the last refresh that succeeded. */
    this.entities = []
  }

  getProviderName() {
    return `paved:${this.name}`
  }

  async connect(connection) {
    this.connection = connection
    await this.taskRunner.run({ id: `${this.getProviderName()}:refresh`, fn: () => this.refresh() })
  }

  /** Reads the sources and replaces the catalog's set; on any failure the set stays. */
  async refresh() {
    if (!this.connection) throw new Error(`${this.getProviderName()} is not connected to the catalog`)
    let entities
    try {
      const objects = await this.read()
      if (objects.length === 0) throw new Error('the sources hold no objects')
      entities = paved.catalog(objects, { bundle: this.bundle })
    } catch (e) {
      const reason = e instanceof paved.PavedError ? `${e.message}\n${e.diagnostics.map((d) => `  ${d.file}:${d.line}: ${d.message}`).join('\n')}` : e.message
      this.logger.error(`paved: the catalog's sources failed; the ${this.entities.length} entities of the last refresh stay: ${reason}`)
      throw e
    }
    const location = `paved:${this.name}`
    for (const entity of entities) {
      entity.metadata.annotations = {
        ...entity.metadata.annotations,
        'backstage.io/managed-by-location': location,
        'backstage.io/managed-by-origin-location': location,
      }
    }
    await this.connection.applyMutation({
      type: 'full',
      entities: entities.map((entity) => ({ entity, locationKey: this.getProviderName() })),
    })
    this.entities = entities
    this.logger.info(`paved: the catalog holds ${entities.length} services from ${this.sources.join(', ') || 'its reader'}`)
  }
}

const catalogModule = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'paved-entity-provider',
  register(env) {
    env.registerInit({
      deps: {
        catalog: catalogProcessingExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        scheduler: coreServices.scheduler,
      },
      async init({ catalog, config, logger, scheduler }) {
        const settings = config.getOptionalConfig('paved.catalog')
        if (!settings) {
          logger.info('paved: no paved.catalog in the config; the entity provider is not added')
          return
        }
        const schedule = settings.has('schedule')
          ? readSchedulerServiceTaskScheduleDefinitionFromConfig(settings.getConfig('schedule'))
          : { frequency: { minutes: 30 }, timeout: { minutes: 3 } }
        catalog.addEntityProvider(
          new PavedEntityProvider({
            sources: settings.getStringArray('sources'),
            bundle: config.getOptionalString('paved.bundle'),
            logger,
            taskRunner: scheduler.createScheduledTaskRunner(schedule),
          }),
        )
      },
    })
  },
})

module.exports = { PavedEntityProvider, catalogModule, readObjects }
