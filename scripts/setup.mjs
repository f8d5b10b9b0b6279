#!/usr/bin/env node
// Idempotent set-up run before `npm test`, `npm run demo` and `npm run bench`:
// pnpm, the workspace's dependencies, and a WebGPU adapter for Dawn.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg) => console.log(`[setup] ${msg}`);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

// 1. pnpm. corepack's signature check fails on these machines, so npm installs it.
if (!has('pnpm')) {
  log('installing pnpm@10 with npm');
  run('npm', ['install', '--global', 'pnpm@10']);
}

// 2. Dependencies, exactly as locked. Fast when nothing changed.
run('pnpm', ['install', '--frozen-lockfile', '--reporter=silent']);

// 3. A WebGPU adapter. Probed in a child process: Dawn keeps threads alive.
function probeAdapter() {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'probe-adapter.mjs')], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
  });
  return r.status === 0 ? r.stdout.trim() : null;
}

let adapter = probeAdapter();
if (!adapter) {
  const backports = 'deb http://deb.debian.org/debian bookworm-backports main';
  const commands = [
    `echo '${backports}' > /etc/apt/sources.list.d/backports.list`,
    'apt-get update',
    'apt-get install -y -t bookworm-backports mesa-vulkan-drivers',
  ];
  const codename = existsSync('/etc/os-release') ? (readFileSync('/etc/os-release', 'utf8').match(/VERSION_CODENAME=(\w+)/)?.[1] ?? '') : '';
  if (isRoot && codename === 'bookworm' && has('apt-get')) {
    log("Dawn found no WebGPU adapter; installing Mesa's lavapipe (software Vulkan) from bookworm-backports");
    writeFileSync('/etc/apt/sources.list.d/backports.list', `${backports}\n`);
    run('apt-get', ['update', '-q']);
    run('apt-get', ['install', '-y', '-q', '-t', 'bookworm-backports', 'mesa-vulkan-drivers'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    adapter = probeAdapter();
  }
  if (!adapter) {
    console.error(
      '[setup] Dawn found no WebGPU adapter (no Vulkan driver).\n' +
        "[setup] On Debian bookworm, install Mesa's lavapipe (software Vulkan) from bookworm-backports as root:\n" +
        commands.map((c) => `    ${c}`).join('\n') +
        '\n[setup] (bookworm\'s own mesa-vulkan-drivers 22.3 is too old for Dawn.) With a GPU, install its Vulkan driver instead.',
    );
    process.exit(1);
  }
}
log(`WebGPU adapter: ${adapter}`);

// 4. Chromium, for the browser tests (puppeteer-core drives Debian's build; it
//    downloads no browser). `npm run demo`, `bench` and `web` do not need one,
//    so they neither install nor require it.
const CHROMIUM_INSTALL = 'apt-get install -y chromium';
const needsBrowser = !['demo', 'bench', 'web'].includes(process.env.npm_lifecycle_event ?? '');
if (needsBrowser && !existsSync('/usr/bin/chromium') && !has('chromium')) {
  const isDebian = existsSync('/etc/debian_version') && has('apt-get');
  if (isRoot && isDebian) {
    log('installing Chromium (browser tests)');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = () => spawnSync('apt-get', ['install', '-y', '-q', 'chromium'], { stdio: 'inherit', env }).status === 0;
    if (!install()) {
      // Most often the package lists are missing (fresh container) or stale.
      log('apt-get install failed; refreshing the package lists and retrying');
      run('apt-get', ['update', '-q'], { env });
      run('apt-get', ['install', '-y', '-q', 'chromium'], { env });
    }
  } else {
    console.error(`[setup] Chromium is missing (the browser tests drive /usr/bin/chromium). On Debian, install it as root:\n    ${CHROMIUM_INSTALL}`);
    process.exit(1);
  }
}
