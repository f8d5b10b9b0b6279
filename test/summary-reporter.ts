/**
 * Prints one closing line, "Tests: N passed, N failed, N skipped", after
 * vitest's own summary, so any CI that reads plain counts can. A test file
 * that fails to load counts as one failure.
 */
import type { Reporter, RunnerTask, RunnerTestFile } from 'vitest/node';

function count(tasks: RunnerTask[], acc: { passed: number; failed: number; skipped: number }): void {
  for (const t of tasks) {
    if (t.type === 'suite') count(t.tasks, acc);
    else if (t.mode === 'skip' || t.mode === 'todo') acc.skipped++;
    else if (t.result?.state === 'pass') acc.passed++;
    else if (t.result?.state === 'fail') acc.failed++;
    else acc.skipped++;
  }
}

export default class SummaryReporter implements Reporter {
  onFinished(files: RunnerTestFile[] = [], errors: unknown[] = []): void {
    const acc = { passed: 0, failed: 0, skipped: 0 };
    for (const f of files) {
      const before = acc.failed;
      count(f.tasks, acc);
      if (f.result?.state === 'fail' && acc.failed === before) acc.failed++;
    }
    acc.failed += errors.length;
    process.stdout.write(`\nTests: ${acc.passed} passed, ${acc.failed} failed, ${acc.skipped} skipped\n`);
  }
}
