import type { FactAggregation, FactDefinition, FactType, FactUnit, FactWindow, WindowName } from './facts.js';
import type { Scope } from './scope.js';

/**
 * The fact dictionary, version 1. Rules may only name facts listed here; `autopilot rules docs`
 * renders it into the rule reference. Adding a fact is backwards compatible; renaming one is a
 * new dictionary version.
 */
export const FACT_DICTIONARY_VERSION = 1;

const defs: FactDefinition[] = [];

function fact(
  name: string,
  type: FactType,
  unit: FactUnit,
  aggregation: FactAggregation,
  description: string,
  window: FactWindow = 'latest',
): void {
  const scope = name.slice(0, name.indexOf('.')) as Scope;
  defs.push({ name, scope, type, unit, aggregation, window, description });
}

const WINDOW_SUFFIX: Record<WindowName, string> = {
  short: 'Short',
  medium: 'Medium',
  long: 'Long',
  day: 'Day',
};

/** A gauge plus its window averages: `x`, `x.avgShort`, `x.avgLong`... */
function gauge(
  name: string,
  unit: FactUnit,
  aggregation: FactAggregation,
  description: string,
  windows: WindowName[] = ['short', 'long'],
): void {
  fact(name, 'number', unit, aggregation, description);
  for (const w of windows) {
    fact(
      `${name}.avg${WINDOW_SUFFIX[w]}`,
      'number',
      unit,
      'avg',
      `${description} (average over the ${w} window)`,
      w,
    );
  }
}

/** Event counts per window: `x.countShort`, `x.countMedium`... */
function counted(
  name: string,
  description: string,
  windows: WindowName[] = ['short', 'medium', 'long'],
): void {
  for (const w of windows) {
    fact(
      `${name}.count${WINDOW_SUFFIX[w]}`,
      'number',
      'count',
      'count',
      `${description} in the ${w} window`,
      w,
    );
  }
}

// ── cluster ─────────────────────────────────────────────────────────────────────────────────
fact('cluster.reachable', 'boolean', 'bool', 'latest', 'The JobManager REST endpoint answered this cycle');
fact('cluster.flinkVersion', 'string', 'text', 'latest', 'Flink version reported by /config');
fact('cluster.taskManagers', 'number', 'count', 'latest', 'Registered TaskManagers');
fact('cluster.slotsTotal', 'number', 'count', 'latest', 'Task slots in the cluster');
fact('cluster.slotsAvailable', 'number', 'count', 'latest', 'Free task slots in the cluster');
fact(
  'cluster.pendingTaskManagers',
  'number',
  'count',
  'latest',
  'TaskManagers requested but not yet registered',
);
gauge('cluster.jobManager.heapUsedRatio', 'ratio', 'latest', 'JobManager heap used / heap max', ['short']);
counted(
  'cluster.taskManagersLost',
  'TaskManagers that disappeared from the cluster (a restarted TaskManager comes back under a new id)',
  ['medium', 'long'],
);

// ── job ─────────────────────────────────────────────────────────────────────────────────────
fact('job.state', 'string', 'text', 'latest', 'Flink job status (RUNNING, RESTARTING, FAILING, ...)');
fact('job.isRunning', 'boolean', 'bool', 'latest', 'The job status is RUNNING');
fact('job.uptime', 'number', 's', 'latest', 'Seconds since the job last entered RUNNING');
fact('job.schedulerAdaptive', 'boolean', 'bool', 'latest', 'The adaptive scheduler runs this job');
fact('job.parallelism.total', 'number', 'count', 'sum', 'Sum of vertex parallelisms (slots used)');
counted('job.restarts', 'Job restarts (numRestarts increments)', ['short', 'medium', 'long', 'day']);
counted('job.exceptions', 'Entries added to the exception history');
fact(
  'job.exceptions.latestClass',
  'string',
  'text',
  'latest',
  'Class (rules/log-patterns.json) of the newest exception, root cause first',
);
fact(
  'job.exceptions.classesMedium',
  'string[]',
  'text',
  'set',
  'Classes of the exceptions seen in the medium window',
  'medium',
);
fact(
  'job.exceptions.classesLong',
  'string[]',
  'text',
  'set',
  'Classes of the exceptions seen in the long window',
  'long',
);
counted('job.checkpoints.failed', 'Failed checkpoints');
counted('job.checkpoints.completed', 'Completed checkpoints');
fact(
  'job.checkpoints.sinceLastCompleted',
  'number',
  's',
  'latest',
  'Seconds since the last completed checkpoint',
);
fact('job.checkpoints.interval', 'number', 's', 'latest', 'Configured checkpoint interval');
fact('job.checkpoints.timeout', 'number', 's', 'latest', 'Configured checkpoint timeout');
fact('job.checkpoints.exactlyOnce', 'boolean', 'bool', 'latest', 'Checkpointing mode is EXACTLY_ONCE');
fact('job.checkpoints.unaligned', 'boolean', 'bool', 'latest', 'Unaligned checkpoints are enabled');
gauge(
  'job.checkpoints.lastDuration',
  's',
  'latest',
  'End-to-end duration of the latest completed checkpoint',
);
fact(
  'job.checkpoints.durationToTimeoutRatio',
  'number',
  'ratio',
  'latest',
  'Latest checkpoint duration / checkpoint timeout',
);
fact(
  'job.checkpoints.durationToIntervalRatio',
  'number',
  'ratio',
  'latest',
  'Latest checkpoint duration / checkpoint interval',
);
fact(
  'job.checkpoints.stateSize',
  'number',
  'bytes',
  'latest',
  'Full state size of the latest completed checkpoint',
);
fact(
  'job.checkpoints.stateSize.growthLong',
  'number',
  'ratio',
  'growth',
  'Relative state size growth over the long window (0.5 = +50 %)',
  'long',
);
fact(
  'job.checkpoints.startDelay.max',
  'number',
  's',
  'max',
  'Checkpoint start delay of the slowest subtask (barrier travel time)',
);
fact(
  'job.checkpoints.alignment.max',
  'number',
  's',
  'max',
  'Checkpoint alignment time of the slowest subtask',
);
fact(
  'job.checkpoints.syncDuration.max',
  'number',
  's',
  'max',
  'Synchronous checkpoint phase of the slowest subtask',
);
fact(
  'job.checkpoints.asyncDuration.max',
  'number',
  's',
  'max',
  'Asynchronous checkpoint phase of the slowest subtask',
);
gauge('job.lagSeconds', 's', 'max', 'Largest source lag in seconds of input', ['short', 'medium']);
fact(
  'job.lagSeconds.growthShort',
  'number',
  'per_s',
  'growth',
  'Slope of job.lagSeconds over the short window (seconds of lag per second)',
  'short',
);
fact('job.sourceRate', 'number', 'per_s', 'sum', 'Records per second read by all sources');
gauge('job.maxBusyRatio', 'ratio', 'max', 'Busy ratio of the busiest subtask in the job', ['long']);
fact(
  'job.maxBackpressureRatio',
  'number',
  'ratio',
  'max',
  'Backpressured ratio of the most backpressured subtask in the job',
);
fact('job.bottleneckCount', 'number', 'count', 'count', 'Vertices flagged as bottleneck');

// ── source (per source vertex) ──────────────────────────────────────────────────────────────
gauge(
  'source.pendingRecords',
  'records',
  'sum',
  'Records waiting in the source system (Kafka lag) across readers',
  ['short'],
);
fact(
  'source.pendingRecords.growthShort',
  'number',
  'per_s',
  'growth',
  'Slope of pendingRecords over the short window (records per second)',
  'short',
);
gauge('source.lagSeconds', 's', 'latest', 'pendingRecords / consumption rate: seconds of input behind', [
  'short',
  'medium',
]);
fact('source.recordsRate', 'number', 'per_s', 'sum', 'Records per second emitted by the source');
gauge('source.eventTimeLag', 's', 'max', 'currentEmitEventTimeLag of the slowest reader', ['short']);
fact('source.idleRatio.avg', 'number', 'ratio', 'avg', 'Idle ratio of the source subtasks');

// ── vertex ──────────────────────────────────────────────────────────────────────────────────
fact('vertex.parallelism', 'number', 'count', 'latest', 'Current parallelism');
fact('vertex.maxParallelism', 'number', 'count', 'latest', 'Max parallelism (key groups)');
fact('vertex.isSource', 'boolean', 'bool', 'latest', 'The vertex has no inputs');
fact('vertex.isSink', 'boolean', 'bool', 'latest', 'The vertex has no outputs');
fact(
  'vertex.isBottleneck',
  'boolean',
  'bool',
  'latest',
  'Busy and not backpressured while its upstream is backpressured, or the busiest busy vertex',
);
fact(
  'vertex.upstreamBackpressured',
  'boolean',
  'bool',
  'latest',
  'A direct upstream vertex is backpressured',
);
gauge('vertex.busyRatio.max', 'ratio', 'max', 'busyTimeMsPerSecond / 1000, busiest subtask');
gauge('vertex.busyRatio.avg', 'ratio', 'avg', 'busyTimeMsPerSecond / 1000, subtask average');
gauge(
  'vertex.backpressureRatio.max',
  'ratio',
  'max',
  'backPressuredTimeMsPerSecond / 1000, most backpressured subtask',
);
gauge('vertex.backpressureRatio.avg', 'ratio', 'avg', 'backPressuredTimeMsPerSecond / 1000, subtask average');
gauge('vertex.idleRatio.avg', 'ratio', 'avg', 'idleTimeMsPerSecond / 1000, subtask average', ['long']);
fact('vertex.recordsInRate', 'number', 'per_s', 'sum', 'Records per second into the vertex');
fact('vertex.recordsOutRate', 'number', 'per_s', 'sum', 'Records per second out of the vertex');
fact(
  'vertex.trueProcessingRate',
  'number',
  'per_s',
  'sum',
  'Records per second the vertex could process at 100 % busy (rate / busy ratio)',
);
fact(
  'vertex.targetRate',
  'number',
  'per_s',
  'sum',
  'Records per second the vertex must process: source input plus lag catch-up, through the graph',
);
fact(
  'vertex.requiredUtilization',
  'number',
  'ratio',
  'latest',
  'targetRate / trueProcessingRate: the busy ratio needed at current parallelism',
);
fact('vertex.busySkew', 'number', 'ratio', 'skew', '(max - avg) / max of subtask busy ratios; 0 = even');
fact('vertex.recordsInSkew', 'number', 'ratio', 'skew', '(max - avg) / max of subtask input rates; 0 = even');
gauge('vertex.watermarkLag', 's', 'max', 'Processing time minus the lowest subtask input watermark', [
  'short',
]);
fact(
  'vertex.watermarkStalledFor',
  'number',
  's',
  'latest',
  'Seconds since the lowest subtask input watermark last advanced',
);

// ── taskmanager ─────────────────────────────────────────────────────────────────────────────
gauge('taskmanager.heapUsedRatio', 'ratio', 'latest', 'Heap used / heap max', ['short']);
fact('taskmanager.metaspaceUsedRatio', 'number', 'ratio', 'latest', 'Metaspace used / metaspace max');
fact('taskmanager.directUsedRatio', 'number', 'ratio', 'latest', 'Direct memory used / total capacity');
gauge(
  'taskmanager.gcTimeRatio',
  'ratio',
  'latest',
  'Share of wall time spent in GC (GC ms per second / 1000)',
  ['short', 'medium'],
);
fact('taskmanager.cpuLoad', 'number', 'ratio', 'latest', 'JVM process CPU load 0-1');
fact('taskmanager.heartbeatAge', 'number', 's', 'latest', 'Seconds since the TaskManager last heartbeated');
fact('taskmanager.freeSlots', 'number', 'count', 'latest', 'Free slots on this TaskManager');

// ── node ────────────────────────────────────────────────────────────────────────────────────
gauge('node.cpuStealRatio', 'ratio', 'avg', 'CPU time stolen by the hypervisor', ['short']);
gauge('node.cpuIowaitRatio', 'ratio', 'avg', 'CPU time waiting for I/O', ['short']);
fact('node.diskFreeRatio', 'number', 'ratio', 'min', 'Free / size of the fullest filesystem used by Flink');
gauge('node.diskBusyRatio', 'ratio', 'max', 'Busiest disk utilisation (io time per second)', ['short']);
fact('node.nicErrorsRate', 'number', 'per_s', 'sum', 'NIC receive + transmit errors per second');
fact('node.nicDropsRate', 'number', 'per_s', 'sum', 'NIC receive + transmit drops per second');
fact('node.memoryAvailableRatio', 'number', 'ratio', 'latest', 'MemAvailable / MemTotal');

// ── job logs (per class of rules/log-patterns.json) ─────────────────────────────────────────
fact(
  'job.logs.collectedFor',
  'number',
  's',
  'latest',
  'Seconds the job’s logs have been read without a gap; absent when they were not read this cycle',
);

export const FACT_DICTIONARY: ReadonlyMap<string, FactDefinition> = new Map(defs.map(d => [d.name, d]));

/** Placeholder for a log class in the names of log facts (`job.logs.<class>.countShort`). */
export const LOG_CLASS_PLACEHOLDER = '<class>';

const LOG_FACT_WINDOWS = ['short', 'medium', 'long'] as const satisfies readonly WindowName[];

/**
 * Facts whose names carry a class of `rules/log-patterns.json`: one set per class, so the
 * dictionary lists them as templates. Present only while the job's logs are read; a class not
 * seen in a window counts 0 there, a class never seen has no lastSeenAgo/firstSeenAgo/sample.
 */
export const FACT_TEMPLATES: readonly FactDefinition[] = [
  ...LOG_FACT_WINDOWS.map((w): FactDefinition => ({
    name: `job.logs.${LOG_CLASS_PLACEHOLDER}.count${WINDOW_SUFFIX[w]}`,
    scope: 'job',
    type: 'number',
    unit: 'count',
    aggregation: 'count',
    window: w,
    description: `Log events (JobManager and TaskManager logs, INFO and worse) of the class in the ${w} window`,
  })),
  {
    name: `job.logs.${LOG_CLASS_PLACEHOLDER}.lastSeenAgo`,
    scope: 'job',
    type: 'number',
    unit: 's',
    aggregation: 'latest',
    window: 'long',
    description: 'Seconds since the newest log event of the class (absent when none in the long window)',
  },
  {
    name: `job.logs.${LOG_CLASS_PLACEHOLDER}.firstSeenAgo`,
    scope: 'job',
    type: 'number',
    unit: 's',
    aggregation: 'latest',
    window: 'long',
    description: 'Seconds since the oldest log event of the class in the long window',
  },
  {
    name: `job.logs.${LOG_CLASS_PLACEHOLDER}.sample`,
    scope: 'job',
    type: 'string',
    unit: 'text',
    aggregation: 'latest',
    window: 'long',
    description: 'First line of the newest log event of the class, secrets masked',
  },
];

const LOG_FACT =
  /^job\.logs\.([a-z0-9]+(?:-[a-z0-9]+)*)\.(countShort|countMedium|countLong|lastSeenAgo|firstSeenAgo|sample)$/;

/** The log class a fact name is about (`job.logs.ask-timeout.countShort` → `ask-timeout`). */
export function logClassOfFact(name: string): string | undefined {
  return LOG_FACT.exec(name)?.[1];
}

export function factDefinition(name: string): FactDefinition | undefined {
  const def = FACT_DICTIONARY.get(name);
  if (def !== undefined) return def;
  const m = LOG_FACT.exec(name);
  if (m === null) return undefined;
  const template = FACT_TEMPLATES.find(t => t.name.endsWith(`.${m[2] ?? ''}`));
  return template === undefined ? undefined : { ...template, name };
}
