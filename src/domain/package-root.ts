import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The directory holding this package's package.json: where the shipped rules, scenarios and
 * dashboard files are, whether the code runs from `src/` (tsx) or from `dist/src/` (built).
 */
export function packageRoot(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`package root not found above ${fileURLToPath(from)}`);
    dir = parent;
  }
  return dir;
}
