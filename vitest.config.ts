import { defineConfig } from 'vitest/config';

/** The workspace's packages resolve to their TypeScript sources under this export condition (no build step). */
const SOURCE_CONDITION = '@stripes/source';
/** Vite's default server conditions, which a `conditions` list replaces. */
const conditions = [SOURCE_CONDITION, 'module', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: [SOURCE_CONDITION] } },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    // Each worker process opens its own Dawn device; lavapipe already spreads
    // one device's work over every core, so more workers only contend.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
