/**
 * `pnpm run bench [kernels|train] [options]` at the root: the conv kernel
 * microbenchmarks (the default) or whole CycleGAN training steps. The name is
 * taken off the arguments; the rest go to the benchmark.
 */
const BENCHES = { kernels: './kernels.bench.ts', train: './train.bench.ts' } as const;

// `pnpm run bench -- train` passes the `--` through; `npm run bench -- train` does not.
if (process.argv[2] === '--') process.argv.splice(2, 1);
const name = process.argv[2];
let bench: string = BENCHES.kernels;
if (name in BENCHES) {
  bench = BENCHES[name as keyof typeof BENCHES];
  process.argv.splice(2, 1);
} else if (name !== undefined && !name.startsWith('-')) {
  throw new Error(`bench: unknown benchmark '${name}'; choose ${Object.keys(BENCHES).join(' or ')}`);
}
await import(bench);
