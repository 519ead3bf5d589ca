/** `npm run test:learning`: the slow ML learning tests (minutes on the wasm backend), kept out of `npm test`. */
const base = require('./jest.config.js');

module.exports = { ...base, testMatch: ['**/*.slow-test.ts'], testTimeout: 1_800_000, maxWorkers: 1 };
