// Prints one plain closing line after vitest's own report:
//   "N passed, N failed, N skipped, N errors: run passed" (or "run failed").
// Errors are those outside any test (an uncaught exception, an unhandled rejection, a test file that
// failed to load): vitest fails the run for them even when every test passed, so the line says so too.
import type { Reporter, SerializedError, TestModule, TestRunEndReason } from "vitest/node";

export interface SummaryCounts {
  passed: number;
  failed: number;
  skipped: number;
  errors: number;
}

export function summarize(
  modules: ReadonlyArray<TestModule>,
  unhandledErrors: ReadonlyArray<SerializedError>,
): SummaryCounts {
  const counts = { passed: 0, failed: 0, skipped: 0, errors: unhandledErrors.length };
  for (const mod of modules) {
    for (const test of mod.children.allTests()) {
      const state = test.result().state;
      if (state === "passed") counts.passed++;
      else if (state === "failed") counts.failed++;
      else counts.skipped++;
    }
    // Errors of the file itself (import failures, errors in hooks outside any test).
    const fileErrors = mod.errors().length;
    counts.errors += fileErrors;
    if (fileErrors === 0 && mod.state() === "failed" && [...mod.children.allTests()].length === 0) counts.errors++;
  }
  return counts;
}

export function summaryLine(counts: SummaryCounts, reason: TestRunEndReason): string {
  const ok = reason === "passed" && counts.failed === 0 && counts.errors === 0;
  const errors = `${counts.errors} ${counts.errors === 1 ? "error" : "errors"}`;
  const verdict = ok ? "run passed" : reason === "interrupted" ? "run interrupted" : "run failed";
  return `${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped, ${errors}: ${verdict}`;
}

export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    modules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError>,
    reason: TestRunEndReason,
  ): void {
    process.stdout.write(`\n${summaryLine(summarize(modules, unhandledErrors), reason)}\n`);
  }
}
