import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Daemon, type JobSource } from '../src/agent-manager/daemon.js';
import { loadLibrary } from '../src/agent-manager/start.js';
import { CANNOT_OBSERVE_RULE } from '../src/agents/select/observability.js';
import { compileConfig } from '../src/config/load.js';
import {
  SHARED_SCOPES,
  VirtualClock,
  type Category,
  type Condition,
  type Finding,
  type Rule,
  type Severity,
  type Subject,
} from '../src/domain/index.js';
import { LogFeeds } from '../src/agent-manager/log-feeds.js';
import { Simulator, inProcessDispatcher, loadScenario, type Scenario } from '../src/sim/index.js';
import { FlinkRestClient, collectSnapshot, listJobs } from '../src/sources/flink-rest/index.js';
import { MemoryStore } from '../src/state/memory-store.js';
import { createLogger } from '../src/telemetry/logger.js';
import { GENERATED_COUNT, GENERATOR_SEED, generateScenarios } from './accuracy-generate.js';
import { TRUTH, matches } from './accuracy-truth.js';
import { describeMachine, machineInfo } from './machine.js';

/**
 * Accuracy benchmark (issue 5): every scenario of scenarios/ plus seeded generated scenarios,
 * each replayed in process on a VirtualClock against the daemon with the shipped rule library,
 * as committed at HEAD. Per scenario and overall: recall (faults detected while active), precision
 * (every finding: a firing episode of one fingerprint), healthy findings per job-hour by severity,
 * detection delay per fault against its target. Measurement only: nothing here tunes rules.
 * The scenario library and truth are frozen at LIBRARY_FROZEN_AT; the rules are those at HEAD.
 *
 * Env: ACCURACY_ONLY=<substring>[,<substring>...] runs only matching scenarios; ACCURACY_DUMP=1 writes the generated
 * scenarios to bench/results/accuracy-generated/ (not committed); ACCURACY_LIBRARY_ONLY=1 leaves the
 * generated scenarios out (for tuning on the library alone); ACCURACY_WORKTREE_RULES=1 uses the
 * working tree's rules/ instead of the ones at HEAD.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/**
 * The commit at which the scenario library (scenarios/), the truth model and the generator were
 * frozen, before any tuning against this benchmark (issue 5). The rules under test are those at
 * HEAD; what changed in the frozen inputs since this commit is listed in the results.
 */
const LIBRARY_FROZEN_AT = 'ef5201b128c4f3d197b7bf952687b3e57224237c';
const FROZEN_INPUTS = ['scenarios', 'bench/accuracy-truth.ts', 'bench/accuracy-generate.ts'];
const TICK_MS = 10_000;
const FAST_TARGET_MS = 90_000;

interface Episode {
  fingerprint: string;
  rule: string;
  category: Category;
  severity: Severity;
  subject: Subject;
  jobs: Set<string>;
  start: number;
  end: number;
  /** Index of the fault it was attributed to (true positive), or undefined (false positive). */
  fault?: number;
}

interface FaultResult {
  index: number;
  kind: string;
  job: string;
  fromS: number;
  toS: number | null;
  detected: boolean;
  delayS: number | null;
  byRule: string | null;
  targetS: number | null;
  withinTarget: boolean | null;
}

interface ScenarioResult {
  name: string;
  source: 'library' | 'generated';
  healthy: boolean;
  jobs: number;
  simulatedHours: number;
  durationShortened: boolean;
  ticks: number;
  wallMs: number;
  faults: FaultResult[];
  findings: {
    total: number;
    truePositives: number;
    falsePositives: number;
    falsePositivesMediumHigh: number;
    bySeverity: Record<Severity, number>;
  };
  recall: number | null;
  precision: number | null;
  precisionMediumHigh: number | null;
  perJobHour: Record<Severity, number>;
  falsePositiveRules: Record<string, number>;
  episodes: {
    rule: string;
    category: Category;
    severity: Severity;
    subject: string;
    shared: boolean;
    jobs: string[];
    startS: number;
    endS: number;
    fault: number | null;
  }[];
}

function gitOut(args: string[]): string {
  return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
}

/**
 * The longest fact window a rule reads (facts end in …Short, …Medium, …Long, …Day); a duration
 * threshold on a `…For` fact (seconds, e.g. `vertex.watermarkStalledFor > 600`) counts as a window.
 */
function longestWindowMs(rule: Rule, windows: Record<'short' | 'medium' | 'long' | 'day', number>): number {
  let max = 0;
  const visit = (c: Condition): void => {
    if ('all' in c) c.all.forEach(visit);
    else if ('any' in c) c.any.forEach(visit);
    else if ('not' in c) visit(c.not);
    else {
      const m = /(Short|Medium|Long|Day)$/.exec(c.fact);
      const key = m?.[1]?.toLowerCase() as keyof typeof windows | undefined;
      if (key !== undefined) max = Math.max(max, windows[key]);
      if (c.fact.endsWith('For')) {
        const v = c.value;
        const seconds =
          typeof v === 'number'
            ? v
            : typeof v === 'object' && v !== null && 'param' in v
              ? rule.params[v.param]
              : undefined;
        if (typeof seconds === 'number') max = Math.max(max, seconds * 1000);
      }
    }
  };
  visit(rule.conditions);
  return max;
}

/** rule `for` + its longest window (+ the slowest rule it requires), without the ticks. */
function ruleLatencyMs(
  id: string,
  rules: ReadonlyMap<string, Rule>,
  windows: Record<'short' | 'medium' | 'long' | 'day', number>,
  seen = new Set<string>(),
): number {
  const rule = rules.get(id);
  if (rule === undefined || seen.has(id)) return 0;
  seen.add(id);
  const own = rule.forMs + longestWindowMs(rule, windows);
  const req = Math.max(0, ...rule.requires.map(r => ruleLatencyMs(r, rules, windows, seen)));
  return own + req;
}

const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);
const fmt = (x: number | null, d = 2): string => (x === null ? '—' : x.toFixed(d));
const median = (xs: readonly number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? null) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

async function runScenario(
  scenario: Scenario,
  source: ScenarioResult['source'],
  lib: Awaited<ReturnType<typeof loadLibrary>>,
  ruleById: ReadonlyMap<string, Rule>,
): Promise<ScenarioResult> {
  const wall0 = performance.now();
  const config = compileConfig({ agent: { interval: '10s' } });
  const graceMs = config.windows.long;
  const start = Date.parse(scenario.startTime);
  const clock = new VirtualClock(start);
  const sim = new Simulator({ scenario, clock });
  const client = new FlinkRestClient({
    baseUrl: 'http://sim',
    dispatcher: inProcessDispatcher(sim),
    sleep: () => Promise.resolve(),
  });
  const clusterLabel = scenario.cluster.label;
  const jobSource: JobSource = {
    id: `flink:${clusterLabel}`,
    listJobs: () => listJobs(client, { clusterLabel }),
    collect: (job, now) => collectSnapshot(client, job, now),
    restClient: () => client,
  };
  const log = createLogger({ level: 'silent' });
  const daemon = new Daemon({
    config,
    clock,
    sources: [jobSource],
    store: new MemoryStore(),
    rules: lib.rules,
    rulesVersion: lib.version,
    log,
    ...(lib.classify === undefined ? {} : { classify: lib.classify }),
    // The JobManager/TaskManager logs over the same REST client, as `autopilot run` reads them.
    ...(lib.classifier === undefined
      ? {}
      : { logs: new LogFeeds(config, lib.classifier, log, clock), logClasses: lib.logClasses ?? [] }),
  });

  const faults = scenario.faults;
  const faultResults: FaultResult[] = faults.map((f, index) => ({
    index,
    kind: f.kind,
    job: f.job ?? '*',
    fromS: f.from / 1000,
    toS: f.to === undefined ? null : f.to / 1000,
    detected: false,
    delayS: null,
    byRule: null,
    targetS: null,
    withinTarget: null,
  }));
  const appliesTo = (fi: number, jobName: string): boolean => {
    const f = faults[fi];
    return f !== undefined && (f.job === undefined || f.job === jobName);
  };

  const open = new Map<string, Episode>();
  const episodes: Episode[] = [];
  const duration = scenario.duration;
  let ticks = 0;
  for (let elapsed = TICK_MS; elapsed <= duration; elapsed += TICK_MS) {
    await clock.advance(TICK_MS);
    ticks++;
    const jobs = await daemon.discover();
    // What fires this tick: fingerprint → finding and the jobs it is attached to.
    const firing = new Map<string, { finding: Finding; jobs: Set<string> }>();
    const add = (finding: Finding, job: string): void => {
      const e = firing.get(finding.fingerprint) ?? { finding, jobs: new Set<string>() };
      e.jobs.add(job);
      firing.set(finding.fingerprint, e);
    };
    for (const job of jobs) {
      const report = await daemon.cycle(job);
      for (const f of report.findings) if (f.state === 'firing') add(f, job.name);
    }
    for (const f of daemon.clusterFindings()) for (const job of jobs) add(f, job.name);

    for (const [fp, { finding, jobs: onJobs }] of firing) {
      const onFaultJob = (fi: number): boolean => [...onJobs].some(j => appliesTo(fi, j));
      let ep = open.get(fp);
      if (ep !== undefined) {
        ep.end = elapsed;
        for (const j of onJobs) ep.jobs.add(j);
        if (SEVERITY_ORDER[finding.severity] < SEVERITY_ORDER[ep.severity]) ep.severity = finding.severity;
      } else {
        // A new finding (episode): true positive if it matches an active or recently ended fault
        // of its job; attributed to the best match (active before ended, detect before consequence).
        let best: { fi: number; rank: number } | undefined;
        faults.forEach((f, fi) => {
          if (elapsed < f.from || !onFaultJob(fi)) return;
          const active = f.to === undefined || elapsed < f.to;
          if (!active && elapsed >= (f.to ?? 0) + graceMs) return;
          const t = TRUTH[f.kind];
          const rank = matches(t.detect, finding.rule, finding.category)
            ? 0
            : matches(t.consequence, finding.rule, finding.category)
              ? 1
              : undefined;
          if (rank === undefined) return;
          const r = rank + (active ? 0 : 2);
          if (best === undefined || r < best.rank) best = { fi, rank: r };
        });
        const attributed: number | undefined = (best as { fi: number } | undefined)?.fi;
        ep = {
          fingerprint: fp,
          rule: finding.rule,
          category: finding.category,
          severity: finding.severity,
          subject: finding.subject,
          jobs: new Set(onJobs),
          start: elapsed,
          end: elapsed,
          ...(attributed === undefined ? {} : { fault: attributed }),
        };
        open.set(fp, ep);
        episodes.push(ep);
      }
      // Detection: a `detect` finding that started at or after the onset, while the fault is active.
      const epStart = ep.start;
      faults.forEach((f, fi) => {
        const r = faultResults[fi];
        if (r === undefined || r.detected) return;
        const active = elapsed >= f.from && (f.to === undefined || elapsed < f.to);
        if (!active || epStart < f.from || !onFaultJob(fi)) return;
        if (!matches(TRUTH[f.kind].detect, finding.rule, finding.category)) return;
        r.detected = true;
        r.delayS = (elapsed - f.from) / 1000;
        r.byRule = finding.rule;
        const ruleMs =
          finding.rule === CANNOT_OBSERVE_RULE
            ? config.agent.interval * config.agent.staleAfterTicks
            : ruleLatencyMs(finding.rule, ruleById, config.windows);
        const targetMs = ruleMs + 2 * TICK_MS;
        r.targetS = (TRUTH[f.kind].fast ? Math.min(targetMs, FAST_TARGET_MS) : targetMs) / 1000;
        r.withinTarget = r.delayS <= r.targetS;
      });
    }
    for (const fp of [...open.keys()]) if (!firing.has(fp)) open.delete(fp);
  }
  await daemon.close();

  const bySeverity: Record<Severity, number> = { high: 0, medium: 0, low: 0 };
  const fpRules: Record<string, number> = {};
  let tp = 0;
  let fpMh = 0;
  let tpMh = 0;
  for (const e of episodes) {
    bySeverity[e.severity] += 1;
    if (e.fault !== undefined) {
      tp++;
      if (e.severity !== 'low') tpMh++;
    } else {
      fpRules[e.rule] = (fpRules[e.rule] ?? 0) + 1;
      if (e.severity !== 'low') fpMh++;
    }
  }
  const hours = duration / 3_600_000;
  const jobHours = scenario.jobs.length * hours;
  const detected = faultResults.filter(f => f.detected).length;
  return {
    name: scenario.name,
    source,
    healthy: faults.length === 0,
    jobs: scenario.jobs.length,
    simulatedHours: hours,
    durationShortened: false,
    ticks,
    wallMs: Math.round(performance.now() - wall0),
    faults: faultResults,
    findings: {
      total: episodes.length,
      truePositives: tp,
      falsePositives: episodes.length - tp,
      falsePositivesMediumHigh: fpMh,
      bySeverity,
    },
    recall: ratio(detected, faults.length),
    precision: ratio(tp, episodes.length),
    precisionMediumHigh: ratio(tpMh, tpMh + fpMh),
    perJobHour: {
      high: bySeverity.high / jobHours,
      medium: bySeverity.medium / jobHours,
      low: bySeverity.low / jobHours,
    },
    falsePositiveRules: fpRules,
    episodes: episodes.map(e => ({
      rule: e.rule,
      category: e.category,
      severity: e.severity,
      subject: `${e.subject.kind}:${e.subject.name}`,
      shared: SHARED_SCOPES.has(e.subject.kind),
      jobs: [...e.jobs],
      startS: e.start / 1000,
      endS: e.end / 1000,
      fault: e.fault ?? null,
    })),
  };
}

const SEVERITY_ORDER: Readonly<Record<Severity, number>> = { high: 0, medium: 1, low: 2 };

/** The rule library as committed at HEAD (untracked or modified rule files left out). */
function frozenRulesDir(): { dir: string | undefined; cleanup: () => void } {
  if (process.env.ACCURACY_WORKTREE_RULES === '1') return { dir: undefined, cleanup: () => undefined };
  const tmp = mkdtempSync(join(tmpdir(), 'accuracy-rules-'));
  execFileSync('sh', ['-c', `git archive HEAD rules | tar -x -C '${tmp}'`], { cwd: ROOT });
  return { dir: join(tmp, 'rules'), cleanup: () => rmSync(tmp, { recursive: true, force: true }) };
}

export async function run(): Promise<void> {
  const machine = machineInfo();
  const commit = gitOut(['rev-parse', 'HEAD']);
  const dirty = gitOut(['status', '--porcelain', '--', 'rules', 'src', 'scenarios'])
    .split('\n')
    .filter(l => l.length > 0);
  const libraryChanged = gitOut(['diff', '--name-only', LIBRARY_FROZEN_AT, 'HEAD', '--', ...FROZEN_INPUTS])
    .split('\n')
    .filter(l => l.length > 0);
  const frozen = frozenRulesDir();
  const lib = await loadLibrary(frozen.dir);
  frozen.cleanup();
  const ruleById = new Map(lib.rules.map(r => [r.id, r]));
  console.log(
    `accuracy: rules at ${commit.slice(0, 12)} (${lib.rules.length} rules, version ${lib.version}) on ${describeMachine(machine)}`,
  );
  console.log(
    `  scenario library and truth frozen at ${LIBRARY_FROZEN_AT.slice(0, 12)}; changed since: ${libraryChanged.length === 0 ? 'nothing' : libraryChanged.join(', ')}`,
  );
  if (dirty.length > 0)
    console.log(
      `  note: working tree differs from HEAD under src/, rules/ or scenarios/: ${dirty.join('; ')}`,
    );

  const only = process.env.ACCURACY_ONLY;
  const scenarioDir = join(ROOT, 'scenarios');
  const inputs: { scenario: Scenario; source: ScenarioResult['source'] }[] = [];
  for (const file of readdirSync(scenarioDir)
    .filter(f => f.endsWith('.yaml'))
    .sort())
    inputs.push({ scenario: await loadScenario(join(scenarioDir, file)), source: 'library' });
  const generated = generateScenarios();
  if (process.env.ACCURACY_DUMP === '1') {
    const dumpDir = join(ROOT, 'bench', 'results', 'accuracy-generated');
    mkdirSync(dumpDir, { recursive: true });
    for (const g of generated) writeFileSync(join(dumpDir, `${g.scenario.name}.yaml`), g.yaml);
  }
  if (process.env.ACCURACY_LIBRARY_ONLY !== '1')
    for (const g of generated) inputs.push({ scenario: g.scenario, source: 'generated' });

  const results: ScenarioResult[] = [];
  for (const { scenario, source } of inputs) {
    if (only !== undefined && !only.split(',').some(o => scenario.name.includes(o))) continue;
    const r = await runScenario(scenario, source, lib, ruleById);
    results.push(r);
    console.log(
      `  ${r.name.padEnd(40)} ${String(r.ticks).padStart(5)} ticks  ${(r.wallMs / 1000).toFixed(1).padStart(6)} s`,
    );
  }

  // Table per scenario.
  const head = [
    'SCENARIO'.padEnd(40),
    'FAULTS',
    'RECALL',
    'PREC',
    'PREC-MH',
    'FIND',
    'FP',
    'FP-MH',
    'H/M/L PER JOB-H',
    'DELAYS (s, target)',
  ];
  const lines = [head.join('  ')];
  for (const r of results) {
    lines.push(
      [
        `${r.name}${r.source === 'generated' ? ' *' : ''}`.padEnd(40),
        String(r.faults.length).padStart(6),
        fmt(r.recall).padStart(6),
        fmt(r.precision).padStart(4),
        fmt(r.precisionMediumHigh).padStart(7),
        String(r.findings.total).padStart(4),
        String(r.findings.falsePositives).padStart(2),
        String(r.findings.falsePositivesMediumHigh).padStart(5),
        `${fmt(r.perJobHour.high, 1)}/${fmt(r.perJobHour.medium, 1)}/${fmt(r.perJobHour.low, 1)}`.padEnd(15),
        r.faults
          .map(
            f =>
              `${f.kind}:${f.delayS === null ? 'MISS' : `${f.delayS}(${f.targetS ?? '?'}${f.withinTarget === true ? '✓' : '✗'})`}`,
          )
          .join(' '),
      ].join('  '),
    );
  }
  console.log(lines.join('\n'));
  console.log('  * generated (never used for tuning)');

  // Overall.
  const allFaults = results.flatMap(r => r.faults.map(f => ({ ...f, scenario: r.name })));
  const detected = allFaults.filter(f => f.detected);
  const total = results.reduce((s, r) => s + r.findings.total, 0);
  const tp = results.reduce((s, r) => s + r.findings.truePositives, 0);
  const fpMh = results.reduce((s, r) => s + r.findings.falsePositivesMediumHigh, 0);
  const mh = results.reduce((s, r) => s + r.findings.bySeverity.high + r.findings.bySeverity.medium, 0);
  const healthy = results.filter(r => r.healthy);
  const healthyJobHours = healthy.reduce((s, r) => s + r.jobs * r.simulatedHours, 0);
  const healthyBySev: Record<Severity, number> = { high: 0, medium: 0, low: 0 };
  for (const r of healthy)
    for (const s of ['high', 'medium', 'low'] as const) healthyBySev[s] += r.findings.bySeverity[s];
  const delays = detected.map(f => f.delayS ?? 0);
  const fastDelays = detected.filter(f => TRUTH[f.kind as keyof typeof TRUTH].fast).map(f => f.delayS ?? 0);
  const fpRules: Record<string, number> = {};
  for (const r of results)
    for (const [rule, n] of Object.entries(r.falsePositiveRules)) fpRules[rule] = (fpRules[rule] ?? 0) + n;
  const worstRules = Object.entries(fpRules).sort((a, b) => b[1] - a[1]);
  const subset = (src: ScenarioResult['source']) => {
    const rs = results.filter(r => r.source === src);
    const fs = rs.flatMap(r => r.faults);
    const n = rs.reduce((s, r) => s + r.findings.total, 0);
    const t = rs.reduce((s, r) => s + r.findings.truePositives, 0);
    return {
      scenarios: rs.length,
      faults: fs.length,
      recall: ratio(fs.filter(f => f.detected).length, fs.length),
      precision: ratio(t, n),
    };
  };
  const overall = {
    scenarios: results.length,
    faults: allFaults.length,
    detected: detected.length,
    recall: ratio(detected.length, allFaults.length),
    findings: total,
    truePositives: tp,
    precision: ratio(tp, total),
    precisionMediumHigh: ratio(mh - fpMh, mh),
    library: subset('library'),
    generated: subset('generated'),
    healthy: {
      scenarios: healthy.map(r => r.name),
      jobHours: healthyJobHours,
      findings: healthyBySev,
      perJobHour: {
        high: healthyJobHours === 0 ? null : healthyBySev.high / healthyJobHours,
        medium: healthyJobHours === 0 ? null : healthyBySev.medium / healthyJobHours,
        low: healthyJobHours === 0 ? null : healthyBySev.low / healthyJobHours,
      },
    },
    delayS: { median: median(delays), max: delays.length === 0 ? null : Math.max(...delays) },
    fastDelayS: { median: median(fastDelays), max: fastDelays.length === 0 ? null : Math.max(...fastDelays) },
    withinTarget: detected.filter(f => f.withinTarget === true).length,
    missed: allFaults.filter(f => !f.detected).map(f => `${f.scenario}: ${f.kind} (${f.job})`),
    lateFaults: detected
      .filter(f => f.withinTarget === false)
      .map(f => `${f.scenario}: ${f.kind} ${f.delayS} s > ${f.targetS} s (${f.byRule ?? ''})`),
    falsePositivesByRule: Object.fromEntries(worstRules),
  };
  const targets = {
    recall: 0.95,
    precision: 0.95,
    healthyMediumHighPerJobHour: 0,
    healthyLowPerJobHour: 1,
    delay:
      'rule for + longest window + 2 ticks; <= 90 s for availability and connector faults at a 10 s tick',
  };
  const pass = (x: number | null, t: number): string => (x === null ? 'n/a' : x >= t ? 'PASS' : 'FAIL');
  console.log(
    [
      `overall: ${overall.scenarios} scenarios, ${overall.faults} faults`,
      `  recall    ${fmt(overall.recall, 3)} (${overall.detected}/${overall.faults})  target >= 0.95 ${pass(overall.recall, 0.95)}  [library ${fmt(overall.library.recall, 3)}, generated ${fmt(overall.generated.recall, 3)}]`,
      `  precision ${fmt(overall.precision, 3)} (${tp}/${total} findings, every severity)  target >= 0.95 ${pass(overall.precision, 0.95)}  [library ${fmt(overall.library.precision, 3)}, generated ${fmt(overall.generated.precision, 3)}]`,
      `  precision medium/high only ${fmt(overall.precisionMediumHigh, 3)} (${mh - fpMh}/${mh})`,
      `  healthy (${healthy.length} scenarios, ${healthyJobHours.toFixed(1)} job-hours): per job-hour high ${fmt(overall.healthy.perJobHour.high, 3)}, medium ${fmt(overall.healthy.perJobHour.medium, 3)}, low ${fmt(overall.healthy.perJobHour.low, 3)}  (targets 0 medium/high, <= 1 low)`,
      `  detection delay: median ${fmt(overall.delayS.median, 0)} s, max ${fmt(overall.delayS.max, 0)} s; availability/connector median ${fmt(overall.fastDelayS.median, 0)} s, max ${fmt(overall.fastDelayS.max, 0)} s; ${overall.withinTarget}/${detected.length} detected faults within target`,
      `  missed: ${overall.missed.length === 0 ? 'none' : overall.missed.join('; ')}`,
      `  late: ${overall.lateFaults.length === 0 ? 'none' : overall.lateFaults.join('; ')}`,
      `  false positives by rule: ${worstRules.map(([r, n]) => `${r} ${n}`).join(', ') || 'none'}`,
    ].join('\n'),
  );

  const outDir = join(ROOT, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    join(outDir, 'accuracy.json'),
    `${JSON.stringify(
      {
        benchmark: 'accuracy',
        machine,
        frozenAt: {
          library: LIBRARY_FROZEN_AT,
          libraryInputs: FROZEN_INPUTS,
          libraryChangedSince: libraryChanged,
        },
        rulesAt: {
          commit,
          rulesFrom: frozen.dir === undefined ? 'working tree rules/' : `git archive ${commit} rules`,
          rulesVersion: lib.version,
          rules: lib.rules.length,
          workingTreeDiffers: dirty,
        },
        settings: {
          tickS: TICK_MS / 1000,
          config: { agent: { interval: '10s' } },
          mode: 'dry-run',
          graceAfterFaultS: compileConfig({}).windows.long / 1000,
          generator: { seed: GENERATOR_SEED, count: GENERATED_COUNT },
          findingUnit:
            'one firing episode of one fingerprint (shared cluster/taskmanager/node subjects counted once)',
        },
        targets,
        truth: TRUTH,
        overall,
        scenarios: results,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`  wrote bench/results/accuracy.json`);
}
