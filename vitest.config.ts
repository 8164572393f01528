import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // the browser end-to-end test needs chromium and a built page: `npm run test:browser`
    exclude: ["test/browser/**", "**/node_modules/**"],
    // a JSON report beside the console output, so CI can print plain pass/fail counts
    reporters: ["default", ["json", { outputFile: "test-artifacts/vitest-report.json" }]],
    // Every `ticket` a test runs (child processes, sweep trials) inherits this pin of the fixed
    // crossover of earlier versions: measured crossovers depend on timing and on the thread
    // count, and many tests compare two runs bit for bit across thread counts and processes.
    // Library calls inside a test process share one measurement per shape, so they agree without
    // it; test/crossover.test.ts unsets it where it tests measuring, caching and recording.
    env: { WT_CROSSOVER: "0.7" },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
