// Run with NODE_OPTIONS=--experimental-vm-modules: the tests and the helper are ES modules.
export default {
  testMatch: ["<rootDir>/jest/**/*.test.js"],
  transform: {},
  testEnvironment: "localaik/jest-environment",
  globalSetup: "localaik/jest",
  globalTeardown: "localaik/jest-teardown",
  setupFilesAfterEnv: ["localaik/jest-setup"],
  testTimeout: 30_000,
};
