/**
 * Benchmark dispatcher: `npm run bench -- <name>...` runs the named benchmarks, no name runs all.
 * Each benchmark is a module exporting `run(): Promise<void>`.
 */
const BENCHMARKS: Readonly<Record<string, () => Promise<{ run: () => Promise<void> }>>> = {
  rules: () => import('./rules.js'),
  'fleet-sim': () => import('./fleet-sim.js'),
  accuracy: () => import('./accuracy.js'),
  'k8s-discovery': () => import('./k8s-discovery.js'),
  'fleet-prom': () => import('./fleet-prom.js'),
  scaling: () => import('./scaling.js'),
};

const names = process.argv.slice(2).filter(a => a !== '--');
const unknown = names.filter(n => !Object.hasOwn(BENCHMARKS, n));
if (unknown.length > 0) {
  console.error(`unknown benchmark: ${unknown.join(', ')}; available: ${Object.keys(BENCHMARKS).join(', ')}`);
  process.exitCode = 2;
} else {
  for (const name of names.length > 0 ? names : Object.keys(BENCHMARKS)) {
    const load = BENCHMARKS[name];
    if (load !== undefined) await (await load()).run();
  }
}
