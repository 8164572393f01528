import { defineConfig } from "vitest/config";

// The browser end-to-end test: separate from `npm test` because it needs Debian's chromium
// (.ci/run installs it when missing).
export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ["*.test.ts"],
    reporters: ["default", ["json", { outputFile: "../../test-artifacts/vitest-browser-report.json" }]],
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
