'use strict'
// Backstage's mock context makes its spies with jest's `fn`; under node:test a small stand-in
// with the methods Backstage's test utilities call does.
globalThis.jest = {
  fn(impl) {
    let current = impl
    const f = function (...args) {
      f.mock.calls.push(args)
      return current ? current.apply(this, args) : undefined
    }
    f.mock = { calls: [] }
    f.mockImplementation = (next) => ((current = next), f)
    f.mockReturnValue = (value) => f.mockImplementation(() => value)
    f.mockResolvedValue = (value) => f.mockImplementation(async () => value)
    return f
  },
}
