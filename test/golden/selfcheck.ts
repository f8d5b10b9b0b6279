/**
 * The PyTorch golden cases (cases.ts) without vitest, for machines that have
 * only a GPU driver: the bundle runs it as `run.sh selfcheck`. Prints the
 * adapter, each failure with its mismatches, then `N passed, M failed`; exits
 * 1 when any case fails. In the workspace:
 * `pnpm exec tsx --conditions=@stripes/source test/golden/selfcheck.ts [fixtures dir]`.
 */
import { ready } from '@stripes/tensor';
import { goldenCases } from './cases.ts';

const info = await ready();
console.log(`adapter: ${info.name} (${[info.vendor, info.architecture, info.backend].filter(Boolean).join(', ')})`);
const cases = goldenCases(process.argv[2]);
let failed = 0;
const started = performance.now();
for (const c of cases) {
  let mismatches: string[];
  try {
    mismatches = await c.run();
  } catch (e) {
    mismatches = [`threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`];
  }
  if (mismatches.length === 0) continue;
  failed++;
  console.log(`FAIL ${c.name}\n${mismatches.map((m) => `  ${m}`).join('\n')}`);
}
console.log(`${cases.length - failed} passed, ${failed} failed (${cases.length} golden cases, ${((performance.now() - started) / 1000).toFixed(1)} s)`);
// Dawn's threads keep the event loop alive: exit explicitly.
process.exit(failed ? 1 : 0);
