// The ES module's declarations: the same as the CommonJS ones.
export * from './index.js'
