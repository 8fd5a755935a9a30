'use strict'
// The scaffolder backend module: adds `paved:render`, `paved:check`, `paved:upgrade` and
// `paved:conform` to the scaffolder; `catalogModule` is the catalog's entity provider.
// In packages/backend: backend.add(require('@paved/backstage-plugin-scaffolder-backend-module-paved'))

const { createBackendModule, coreServices } = require('@backstage/backend-plugin-api')
const { scaffolderActionsExtensionPoint } = require('@backstage/plugin-scaffolder-node')
const { renderAction, checkAction, upgradeAction, conformAction } = require('./actions')
const { PavedEntityProvider, catalogModule } = require('./catalog')

const pavedModule = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'paved',
  register(env) {
    env.registerInit({
      deps: { scaffolder: scaffolderActionsExtensionPoint, config: coreServices.rootConfig },
      async init({ scaffolder, config }) {
        // `paved.bundle` in app-config: a bundle of the platform's own golden paths and policies.
        const bundle = config.getOptionalString('paved.bundle')
        scaffolder.addActions(
          renderAction({ bundle }),
          checkAction({ bundle }),
          upgradeAction({ bundle }),
          conformAction({ bundle }),
        )
      },
    })
  },
})

module.exports = pavedModule
module.exports.default = pavedModule
module.exports.renderAction = renderAction
module.exports.checkAction = checkAction
module.exports.upgradeAction = upgradeAction
module.exports.conformAction = conformAction
module.exports.catalogModule = catalogModule
module.exports.PavedEntityProvider = PavedEntityProvider
