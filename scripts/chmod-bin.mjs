// Makes the built CLI entry point executable so `npm link` / the image can run `autopilot` directly.
import { chmodSync } from 'node:fs';
chmodSync(new URL('../dist/src/cli/main.js', import.meta.url), 0o755);
