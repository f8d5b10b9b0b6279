#!/usr/bin/env node
// The package is TypeScript run through tsx; this launcher registers it.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
try {
  const code = await main(process.argv.slice(2));
  // Dawn's threads keep the event loop alive: exit explicitly.
  process.exit(code);
} catch (e) {
  console.error(`stripes-cyclegan: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
