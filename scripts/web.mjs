#!/usr/bin/env node
// `npm run web [-- --port <n>]`: bundles examples/web and serves it on
// 127.0.0.1 (examples/web/server.ts, TypeScript run through tsx).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../examples/web/server.ts');
await main(process.argv.slice(2));
