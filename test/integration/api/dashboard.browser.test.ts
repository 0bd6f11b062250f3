import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken, type ApiToken } from '../../../src/api/auth.js';
import { createApiServer, type ApiServer } from '../../../src/api/server.js';
import { createMetrics } from '../../../src/telemetry/metrics.js';
import {
  capturedLogger,
  clock,
  FakeControls,
  FakeProvider,
  RULES,
  seededStore,
  WORST_FIRST,
} from './fixtures.js';

/**
 * The dashboard in a real headless Chromium (Debian's `chromium`, driven by playwright-core):
 * it renders, sorts worst first, shows Approve only to editors, and leaves a screenshot of each
 * page in test-results/.
 */

function findChromium(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist`);
    return fromEnv;
  }
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      const candidate = join(dir, name);
      if (dir !== '' && existsSync(candidate)) return candidate;
    }
  }
  throw new Error(
    'no Chromium found for the dashboard browser test: set CHROMIUM_PATH, or install one ' +
      '(Debian: apt-get install -y chromium; .ci/run does this)',
  );
}

/** Flags from the machine notes: no sandbox as root, and no background calls to the outside. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

const RAW = { viewer: 'viewer-dash-0123456789abcdef', editor: 'editor-dash-0123456789abcdef' };
const TOKENS: ApiToken[] = [
  { name: 'vera', role: 'viewer', sha256: hashToken(RAW.viewer) },
  { name: 'eddie', role: 'editor', sha256: hashToken(RAW.editor) },
];
const SHOTS = resolve('test-results');

describe('dashboard in headless Chromium', () => {
  const controls = new FakeControls();
  const pageErrors: string[] = [];
  let server: ApiServer;
  let base: string;
  let profile: string;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    const executablePath = findChromium();
    const provider = new FakeProvider();
    server = createApiServer({
      provider,
      store: await seededStore(),
      clock: clock(),
      log: capturedLogger().log,
      tokens: TOKENS,
      host: '127.0.0.1',
      port: 0,
      metricsRegistry: createMetrics({ defaultMetrics: false, reports: () => provider.reports() }).registry,
      rules: RULES,
      controls: { actions: controls },
    });
    base = (await server.start()).url;
    mkdirSync(SHOTS, { recursive: true });
    profile = mkdtempSync(join(tmpdir(), 'autopilot-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1360, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', e => pageErrors.push(e.message));
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  async function useToken(raw: string, role: string): Promise<void> {
    await page.fill('#token', raw);
    await page.click('#token-form button[type=submit]');
    await expect.poll(() => page.textContent('#whoami')).toContain(`(${role})`);
  }

  /** The jobs of the board's rows, top to bottom. */
  async function boardOrder(): Promise<(string | null)[]> {
    const rows = page.locator('table.board tbody tr');
    const out: (string | null)[] = [];
    for (let i = 0; i < (await rows.count()); i++) out.push(await rows.nth(i).getAttribute('data-job'));
    return out;
  }

  it('asks for a token when the API needs one', async () => {
    await page.goto(`${base}/`);
    await page.waitForSelector('[data-ready=true]');
    await expect.poll(() => page.textContent('#view')).toContain('This API needs a token');
    await page.screenshot({ path: join(SHOTS, 'dashboard-token-required.png'), fullPage: true });
  });

  it('renders the health board worst first with summary counts, badges and sparklines', async () => {
    await useToken(RAW.viewer, 'viewer');
    await page.waitForSelector('table.board tbody tr');
    expect(await boardOrder()).toEqual(WORST_FIRST);
    const counts = await page.locator('.counts .count').allTextContents();
    expect(counts).toEqual(['Jobs7', 'High risk2', 'Medium risk2', 'Low risk2', 'Unobservable1', 'Paused1']);
    const first = page.locator('table.board tbody tr').first();
    expect(await first.locator('.badge').textContent()).toBe('High');
    expect(await first.locator('td.first-action').textContent()).toBe(
      'Do something about checkpoint-failing.',
    );
    expect(await first.locator('svg.spark polyline, svg.spark circle').count()).toBeGreaterThan(0);
    expect(await first.locator('svg.spark').getAttribute('aria-label')).toContain('from 90 to 46');
    expect(await page.textContent('.banner-info')).toContain('1 job(s) unobservable');
    expect(await page.textContent('.banner-warn')).toContain('1 job(s) paused');
    await page.screenshot({ path: join(SHOTS, 'dashboard-board.png'), fullPage: true });
  });

  it('filters the board by risk', async () => {
    await page.selectOption('#risk-filter', 'medium');
    await expect.poll(boardOrder).toEqual(['rest:edge/clicks', 'rest:prod/stock']);
    await page.selectOption('#risk-filter', '');
    await expect.poll(() => page.locator('table.board tbody tr').count()).toBe(7);
  });

  it('shows a job page with evidence, a score chart and the journal; no Approve for a viewer', async () => {
    await page.click('a[href="#/jobs/rest%3Aprod%2Fpayments"]');
    await page.waitForSelector('#findings-h');
    expect(await page.textContent('h2')).toContain('payments');
    expect(await page.locator('table.findings dl.evidence dt').first().textContent()).toBe(
      'vertex.busyRatio.max',
    );
    expect(await page.locator('svg.chart polyline.line').count()).toBe(2); // a null score breaks the line
    expect(await page.locator('table.journal tbody tr').count()).toBe(2);
    expect(await page.textContent('ul.actions')).toContain('source is the bottleneck');
    expect(await page.locator('button.approve').count()).toBe(0);
    await page.screenshot({ path: join(SHOTS, 'dashboard-job-viewer.png'), fullPage: true });
  });

  it('shows Approve and Reject to an editor, and approving calls the API', async () => {
    await useToken(RAW.editor, 'editor');
    await page.waitForSelector('button.approve');
    expect(await page.locator('button.reject').count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'dashboard-job-editor.png'), fullPage: true });
    await page.click('button.approve');
    await expect.poll(() => page.textContent('#status')).toContain('approved');
    expect(controls.calls).toEqual(['approve act-0001 by eddie']);
  });

  it('raised no script errors', () => {
    expect(pageErrors).toEqual([]);
  });
});
