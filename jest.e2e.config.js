/** End-to-end and process-level fault tests (minutes on the CPU): `npm run test:e2e`. */
module.exports = {
  ...require('./jest.config.js'),
  testMatch: ['**/*.e2e.ts'],
  testTimeout: 900000,
  maxWorkers: 1,
};
