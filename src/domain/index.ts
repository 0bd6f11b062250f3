/**
 * # Terminology
 *
 * - **job** — one Flink job the daemon watches, named by a stable `jobKey` that survives redeploys.
 * - **incarnation** — one run of a job (its Flink JobID, + generation on Kubernetes); per-run
 *   windows and counters reset when it changes.
 * - **tick** — the agent's interval; every tick runs one **cycle** for the job.
 * - **cycle** — collect → detect → analyze → select → execute, once, for one job.
 * - **snapshot** — what the sources returned for the job in one cycle, typed; parts may be absent.
 * - **fact** — a named, typed value about one **subject** (cluster, job, source, vertex,
 *   taskmanager, node), computed by detect; listed in the fact dictionary. Absent ≠ 0.
 * - **rule** — a JSON file in `rules/`: conditions over facts (json-rules-engine semantics), a
 *   severity, a category and an action text. Rules advise; they never act.
 * - **finding** — a rule that fired for a subject; identified by its **fingerprint**; firing,
 *   resolved or unknown.
 * - **health score** — 100 minus the weights of the distinct findings of the scoring window.
 * - **risk** — high / medium / low, from firing findings and the score.
 * - **first action** — the one thing to do first: the action of the top firing finding.
 * - **planned action** — a change the planner wants (e.g. new parallelism per vertex); executed
 *   by `actions/` under the PlannedAction protocol: lock, journal, re-read, write, verify.
 * - **journal** — the durable record of every planned action's status changes.
 * - **mode** — what the daemon may do to a job: dry-run, approve, auto, or paused.
 * - **clock** — where time comes from: real, or virtual for simulations.
 */
export * from './action-text.js';
export * from './clock.js';
export * from './duration.js';
export * from './fact-dictionary.js';
export * from './facts.js';
export * from './finding.js';
export * from './identity.js';
export * from './mode.js';
export * from './planned-action.js';
export * from './report.js';
export * from './rule.js';
export * from './scope.js';
export * from './severity.js';
export * from './snapshot.js';
