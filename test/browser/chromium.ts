/**
 * Debian's Chromium, driven by puppeteer-core (no browser download): headless,
 * WebGPU on (it gives a SwiftShader adapter on machines without a GPU), a
 * fresh profile per launch. A command-line Chromium never exits by itself:
 * always call `close`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

const FLAGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** /usr/bin/chromium, else `chromium` on PATH; a missing browser is an error that says how to install it. */
export function findChromium(): string {
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  const which = spawnSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' });
  const path = which.stdout.trim();
  if (which.status === 0 && path) return path;
  throw new Error(
    'Chromium not found (the browser tests drive /usr/bin/chromium). Install it: `npm test` runs scripts/setup.mjs, ' +
      'which installs it as root on Debian, or run as root: apt-get install -y chromium',
  );
}

export interface LaunchedChromium {
  browser: Browser;
  close: () => Promise<void>;
}

export async function launchChromium(): Promise<LaunchedChromium> {
  const profile = mkdtempSync(join(tmpdir(), 'stripes-chromium-'));
  // headless: true adds --headless=new.
  let browser: Browser;
  try {
    browser = await puppeteer.launch({ executablePath: findChromium(), headless: true, args: FLAGS, userDataDir: profile });
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    throw e;
  }
  return {
    browser,
    close: async () => {
      try {
        await browser.close();
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}
