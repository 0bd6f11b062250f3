import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { compileRules } from '../src/agents/analyze/compiled-evaluator.js';
import { loadRules } from '../src/config/rule-files.js';
import type { JobFacts } from '../src/domain/index.js';
import { oracleEvaluateJob } from '../test/support/jre-oracle.js';
import { Anchors, Random, randomJob } from '../test/unit/analyze/generators.js';
import { describeMachine, machineInfo } from './machine.js';

/**
 * Job-evaluations per second: every shipped rule over every subject of one synthetic job
 * (1 job, 6 vertices, 3 TaskManagers, 2 sources, 2 nodes, the cluster), by the compiled
 * evaluator and by json-rules-engine (a fresh Engine per job-evaluation and scope, the oracle's
 * translation), in the same process, one after the other.
 */

const SHAPE = { vertices: 6, taskmanagers: 3, sources: 2, nodes: 2 };
const JOBS = 64;
const WARMUP_MS = 1_000;
const MEASURE_MS = 4_000;

interface Measured {
  evaluator: string;
  jobEvaluationsPerSecond: number;
  microsecondsPerJobEvaluation: number;
  ruleSubjectEvaluationsPerSecond: number;
}

async function measure(
  name: string,
  evaluationsPerJob: number,
  jobs: readonly JobFacts[],
  once: (job: JobFacts) => unknown,
): Promise<Measured> {
  const loop = async (ms: number): Promise<number> => {
    const end = performance.now() + ms;
    let n = 0;
    while (performance.now() < end) {
      for (let k = 0; k < 16; k++) {
        const r = once(jobs[n % jobs.length] as JobFacts);
        if (r instanceof Promise) await r;
        n++;
      }
    }
    return n;
  };
  await loop(WARMUP_MS);
  const start = performance.now();
  const n = await loop(MEASURE_MS);
  const seconds = (performance.now() - start) / 1000;
  const perSecond = n / seconds;
  return {
    evaluator: name,
    jobEvaluationsPerSecond: Math.round(perSecond),
    microsecondsPerJobEvaluation: Math.round((1e6 / perSecond) * 100) / 100,
    ruleSubjectEvaluationsPerSecond: Math.round(perSecond * evaluationsPerJob),
  };
}

export async function run(): Promise<void> {
  const rules = await loadRules();
  const anchors = new Anchors();
  for (const r of rules) anchors.addRule(r);
  const rng = new Random(1);
  const jobs = Array.from({ length: JOBS }, () => randomJob(rng, anchors, SHAPE));
  const evaluator = compileRules(rules);
  const evaluationsPerJob = evaluator.evaluate(jobs[0] as JobFacts).length;

  // Both must agree before their speed means anything.
  for (const job of jobs) {
    const compiled = evaluator
      .evaluate(job)
      .map(e => `${e.rule.id}/${e.subject.id}=${e.truth}`)
      .sort();
    const reference = (await oracleEvaluateJob(rules, job))
      .map(r => `${r.ruleId}/${r.subjectId}=${r.truth}`)
      .sort();
    if (JSON.stringify(compiled) !== JSON.stringify(reference))
      throw new Error('compiled and json-rules-engine disagree');
  }

  const results = [
    await measure('compiled', evaluationsPerJob, jobs, job => evaluator.evaluate(job)),
    await measure('json-rules-engine', evaluationsPerJob, jobs, job => oracleEvaluateJob(rules, job)),
  ];
  const [compiled, jre] = results;
  const speedup =
    compiled && jre
      ? Math.round((compiled.jobEvaluationsPerSecond / jre.jobEvaluationsPerSecond) * 10) / 10
      : 0;
  const machine = machineInfo();

  console.log(
    `\nrules: ${rules.length} rules × ${evaluationsPerJob / rules.length || 0} subjects avg = ${evaluationsPerJob} rule-subject evaluations per job-evaluation`,
  );
  console.log(`machine: ${describeMachine(machine)}\n`);
  console.table(
    Object.fromEntries(
      results.map(r => [
        r.evaluator,
        {
          'job-evals/s': r.jobEvaluationsPerSecond,
          'µs/job-eval': r.microsecondsPerJobEvaluation,
          'rule×subject/s': r.ruleSubjectEvaluationsPerSecond,
        },
      ]),
    ),
  );
  console.log(`compiled is ${speedup}× json-rules-engine\n`);

  const out = fileURLToPath(new URL('./results/rules.json', import.meta.url));
  const report = {
    benchmark: 'rules',
    description:
      'job-evaluations/s: all shipped rules over all subjects of a synthetic job (1 job, 6 vertices, 3 taskmanagers, 2 sources, 2 nodes, cluster); json-rules-engine with a fresh Engine per job-evaluation and scope',
    machine,
    rules: rules.length,
    ruleSubjectEvaluationsPerJob: evaluationsPerJob,
    warmupMs: WARMUP_MS,
    measureMs: MEASURE_MS,
    results,
    speedup,
  };
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${out}`);
}
