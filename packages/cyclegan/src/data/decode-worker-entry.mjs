// Used only when the package runs from source (the compiled worker starts
// directly): Node 20 ignores ESM loader flags in a Worker's execArgv, so a
// worker cannot start on a .ts file; this plain module registers tsx's loader
// in the worker, then imports the TypeScript worker named in workerData.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.script);
