// CommonJS everywhere (runtime and tests): yargs 17 is the last CommonJS yargs, and
// ts-jest's CommonJS mode needs no experimental VM flags. See README "Module system".
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  testTimeout: 60000,
};
