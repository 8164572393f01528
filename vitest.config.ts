import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // the browser end-to-end test needs chromium and a built page: `npm run test:browser`
    exclude: ["test/browser/**", "**/node_modules/**"],
    // a JSON report beside the console output, so CI can print plain pass/fail counts
    reporters: ["default", ["json", { outputFile: "test-artifacts/vitest-report.json" }]],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
