// The ES module face of the same package.
import { createRequire } from 'node:module'

const paved = createRequire(import.meta.url)('./index.js')

export const { Engine, PavedError, render, conform, upgrade, upgradePaths, catalog, outdated, inputsSchema, packs, toYaml } = paved
export default paved
