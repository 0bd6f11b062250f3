import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../domain/package-root.js';
import { ApiConfigError } from './errors.js';
import { route, type Route } from './route.js';

/**
 * The dashboard: plain HTML, one ES module and one stylesheet, no build step and no CDN. The
 * files live in `src/api/dashboard/assets/`. They are looked for next to this module first (a
 * build that copies them beside `dist/src/api/`), then under the package root (as the rule
 * library is), so `tsx src/…` and the compiled `dist/src/…` serve the same files.
 */
export function defaultDashboardDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const adjacent = join(here, 'dashboard', 'assets');
  if (existsSync(adjacent)) return adjacent;
  return join(packageRoot(), 'src', 'api', 'dashboard', 'assets');
}

/** URL → file and media type. Nothing else is served from disk. */
const ASSETS = [
  { url: '/', file: 'index.html', type: 'text/html; charset=utf-8', summary: 'The dashboard.' },
  {
    url: '/assets/app.js',
    file: 'app.js',
    type: 'text/javascript; charset=utf-8',
    summary: 'Dashboard script.',
  },
  {
    url: '/assets/style.css',
    file: 'style.css',
    type: 'text/css; charset=utf-8',
    summary: 'Dashboard styles.',
  },
] as const;

/** No inline script or style, no other origin: the page only talks to this API. */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export async function dashboardRoutes(dir: string = defaultDashboardDir()): Promise<Route[]> {
  const files = await Promise.all(
    ASSETS.map(async a => {
      try {
        return { ...a, body: await readFile(join(dir, a.file)) };
      } catch (err) {
        throw new ApiConfigError('API_ASSETS_MISSING', `dashboard file ${a.file} not found in ${dir}`, {
          cause: err,
        });
      }
    }),
  );
  return files.map(f =>
    route({
      method: 'GET',
      path: f.url,
      access: 'public',
      tag: 'dashboard',
      summary: f.summary,
      produces: f.type,
      responses: { 200: f.summary },
      handler: ({ reply }) => {
        reply.type(f.type);
        if (f.file === 'index.html') reply.header('content-security-policy', DASHBOARD_CSP);
        return Promise.resolve(f.body);
      },
    }),
  );
}
