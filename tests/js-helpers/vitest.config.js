import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["vitest/**/*.test.js", "bench/**/*.test.js"],
    globalSetup: ["localaik/vitest"],
    setupFiles: ["localaik/vitest-setup"],
    testTimeout: 30_000,
  },
});
