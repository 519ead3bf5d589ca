/**
 * Browser-test helpers: Debian's chromium driven by playwright-core (no browser download), a
 * fresh profile per run, the web console built when its build is missing or older than its
 * sources, page errors and failed requests collected so every test can insist there were none.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BrowserContext, chromium, Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const REPO_ROOT = path.resolve(__dirname, '../..');
export const ARTIFACTS_DIR = path.join(REPO_ROOT, 'test-artifacts', 'web');
const WEB_DIR = path.join(REPO_ROOT, 'web');
const WEB_INDEX = path.join(WEB_DIR, 'dist', 'index.html');

/** Flags the machine needs: no sandbox as root, no GPU, and no background calls to Google's hosts. */
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

export function assertChromiumInstalled(): void {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `The web console's browser tests need Debian's chromium at ${CHROMIUM}, which is missing: ` +
        `install it with "apt-get install chromium" (.ci/run does), or set CHROMIUM_PATH.`,
    );
  }
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** Runs `npm run build:web` when web/dist is missing or older than web/src (npm ci builds it via prepare). */
export function ensureWebConsoleBuilt(): void {
  const sourcesChanged = Math.max(newestMtime(path.join(WEB_DIR, 'src')), fs.statSync(path.join(WEB_DIR, 'index.html')).mtimeMs);
  if (fs.existsSync(WEB_INDEX) && fs.statSync(WEB_INDEX).mtimeMs >= sourcesChanged) return;
  execFileSync('npm', ['run', 'build:web'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
}

export interface Browser {
  context: BrowserContext;
  /** A new tab that records page errors, console errors and failed requests into `problems`. */
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  problems: string[];
  close(): Promise<void>;
}

/** `apiToken`: put in every page's localStorage, where the console keeps the token it sends. */
export async function launchBrowser(options: { apiToken?: string } = {}): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 800 },
    locale: 'en-GB',
  });
  if (options.apiToken) {
    await context.addInitScript({ content: `localStorage.setItem('kfashion.apiToken', ${JSON.stringify(options.apiToken)})` });
  }
  const problems: string[] = [];
  return {
    context,
    problems,
    async newPage(viewport) {
      const page = await context.newPage();
      if (viewport) await page.setViewportSize(viewport);
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => message.type() === 'error' && problems.push(`console error: ${message.text()}`));
      page.on('response', (response) => response.status() >= 400 && problems.push(`${response.status()} ${response.url()}`));
      page.on('requestfailed', (request) => {
        // Requests cancelled on purpose (a newer search replaced them) are not failures.
        if (!/ERR_ABORTED/.test(request.failure()?.errorText ?? ''))
          problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
      });
      return page;
    },
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<string> {
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: options.fullPage ?? false });
  return file;
}
