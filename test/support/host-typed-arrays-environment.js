/**
 * jest's node environment with the host's typed-array constructors. onnxruntime-node's native binding creates its
 * output arrays in the host realm, and onnxruntime-common (loaded inside the test's realm) checks them with
 * `instanceof Float32Array`: with the sandbox's own constructors every output would be rejected. Used by the
 * tests that run ONNX Runtime (docblock `@jest-environment`).
 */
const { TestEnvironment } = require('jest-environment-node');

const TYPED_ARRAYS = [
  'ArrayBuffer',
  'Float32Array',
  'Float64Array',
  'Int8Array',
  'Int16Array',
  'Int32Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Uint16Array',
  'Uint32Array',
  'BigInt64Array',
  'BigUint64Array',
];

class HostTypedArraysEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of TYPED_ARRAYS) this.global[name] = globalThis[name];
  }
}

module.exports = HostTypedArraysEnvironment;
