#!/usr/bin/env node
// Runs the compiled CLI (`pnpm run build` makes dist/ in the workspace).
import { main } from '../dist/cli/main.js';

try {
  const code = await main(process.argv.slice(2));
  // Dawn's threads keep the event loop alive: exit explicitly.
  process.exit(code);
} catch (e) {
  console.error(`stripes-cyclegan: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
