import { FAIL_AFTER_SECONDS, NO_RESOURCES, failureOf, isActive, param, type FailureText } from './faults.js';
import { JobModel, type RescaleRecord, type StepEnv } from './job-model.js';
import { MovingAverage } from './moving-average.js';
import { SimLogs } from './logs.js';
import { Rng, hash32, hexId } from './random.js';
import type { FaultSpec, Scenario } from './scenario.js';
import { featuresOf, type VersionFeatures } from './versions.js';

export interface TaskManagerState {
  index: number;
  host: string;
  port: number;
  dataPort: number;
  node: number;
  slots: number;
  generation: number;
  resourceId: string;
  alive: boolean;
  /** Set while a no-slots fault holds it away. */
  removedByFault: boolean;
  downUntil: number;
  unresponsiveSince: number | undefined;
  registeredAt: number;
  gcMsPerSecond: MovingAverage;
  cpuLoad: MovingAverage;
  youngCount: number;
  youngTimeMs: number;
  oldCount: number;
  oldTimeMs: number;
  heapUsed: number;
  metaspaceUsed: number;
  directUsed: number;
  oomKills: number;
}

export interface NodeState {
  index: number;
  name: string;
  cores: number;
  cpuSeconds: Record<'user' | 'system' | 'idle' | 'iowait' | 'steal', number>;
  fsSizeBytes: number;
  fsAvailBytes: number;
  rxPackets: number;
  rxErrors: number;
  txPackets: number;
  txErrors: number;
  rxDrops: number;
  oomKills: number;
  memTotalBytes: number;
  memAvailableBytes: number;
}

const GIB = 1024 ** 3;
const METASPACE_MAX = 256 * 1024 ** 2;
const DIRECT_MAX = 512 * 1024 ** 2;

/** jobmanager.adaptive-scheduler.scaling-interval.min (1.x) / executing.cooldown-after-rescaling (2.x). */
const SCALING_INTERVAL_MIN_MS = 30_000;

export const TM_LIMITS = { metaspaceMax: METASPACE_MAX, directMax: DIRECT_MAX };

/**
 * A simulated Flink session cluster: TaskManagers with slots on nodes, jobs scheduled into them
 * by an adaptive (or default) scheduler, faults switched on and off by scenario time. Stepped in
 * 1 s steps up to the clock's time, lazily, whenever something reads it.
 */
export class ClusterModel {
  readonly features: VersionFeatures;
  readonly jobs: JobModel[];
  readonly taskManagers: TaskManagerState[];
  readonly nodes: NodeState[];
  /** JobManager and TaskManager log files, written as the model runs. */
  readonly logs: SimLogs;
  /** Simulated time reached so far (epoch ms). */
  private t: number;
  private readonly faultsByJob: Map<JobModel, FaultSpec[]>;
  private readonly fired = new Map<FaultSpec, number>();
  private readonly waitingSince = new Map<JobModel, number>();
  private readonly resourcesSince = new Map<JobModel, number>();
  private readonly rescaleTrigger = new Map<JobModel, 'UPDATE_REQUIREMENT' | 'NEW_RESOURCE_AVAILABLE'>();

  constructor(
    readonly scenario: Scenario,
    readonly origin: number,
  ) {
    const c = scenario.cluster;
    this.features = featuresOf(c.flinkVersion);
    this.t = origin;
    const rng = new Rng(scenario.seed);
    const nodeCount = Math.ceil(c.taskManagers / c.taskManagersPerNode);
    this.nodes = Array.from({ length: nodeCount }, (_, i) => ({
      index: i,
      name: `node-${i}`,
      cores: c.slotsPerTaskManager * c.taskManagersPerNode,
      cpuSeconds: { user: 0, system: 0, idle: 0, iowait: 0, steal: 0 },
      fsSizeBytes: 200 * GIB,
      fsAvailBytes: 110 * GIB,
      rxPackets: 0,
      rxErrors: 0,
      txPackets: 0,
      txErrors: 0,
      rxDrops: 0,
      oomKills: 0,
      memTotalBytes: 32 * GIB,
      memAvailableBytes: 14 * GIB,
    }));
    this.taskManagers = Array.from({ length: c.taskManagers }, (_, i) => {
      const tm: TaskManagerState = {
        index: i,
        host: `10.0.${Math.floor(i / 200)}.${(i % 200) + 10}`,
        port: 30000 + Math.floor(rng.next() * 30000),
        dataPort: 30000 + Math.floor(rng.next() * 30000),
        node: Math.floor(i / c.taskManagersPerNode),
        slots: c.slotsPerTaskManager,
        generation: 0,
        resourceId: '',
        alive: true,
        removedByFault: false,
        downUntil: 0,
        unresponsiveSince: undefined,
        registeredAt: origin,
        gcMsPerSecond: new MovingAverage(),
        cpuLoad: new MovingAverage(),
        youngCount: 0,
        youngTimeMs: 0,
        oldCount: 0,
        oldTimeMs: 0,
        heapUsed: c.tmHeapBytes * 0.3,
        metaspaceUsed: 90 * 1024 ** 2,
        directUsed: 80 * 1024 ** 2,
        oomKills: 0,
      };
      tm.resourceId = this.resourceIdOf(tm);
      return tm;
    });
    this.jobs = scenario.jobs.map(
      j => new JobModel(j, scenario.seed, origin, this.features.checkpointOnRestart),
    );
    this.faultsByJob = new Map(
      this.jobs.map(j => [j, scenario.faults.filter(f => f.job === undefined || f.job === j.spec.name)]),
    );
    this.logs = new SimLogs({ maxFileBytes: c.logMaxFileBytes, keepRotated: c.logKeepRotated }, origin);
    for (const job of this.jobs) this.tryStart(job, origin);
  }

  now(): number {
    return this.t;
  }

  /** Steps the model in 1 s steps up to `now` (never backwards). */
  advanceTo(now: number): void {
    while (this.t + 1000 <= now) {
      this.t += 1000;
      this.tick(this.t);
    }
  }

  elapsed(): number {
    return this.t - this.origin;
  }

  jobManagerReachable(now: number): boolean {
    return !this.scenario.faults.some(
      f => f.kind === 'jobmanager-unreachable' && isActive(f, now - this.origin),
    );
  }

  job(id: string): JobModel | undefined {
    return this.jobs.find(j => j.id === id);
  }

  faultsOf(job: JobModel): readonly FaultSpec[] {
    return this.faultsByJob.get(job) ?? [];
  }

  slotsTotal(): number {
    return this.taskManagers.filter(tm => tm.alive).reduce((a, tm) => a + tm.slots, 0);
  }

  slotsUsed(): number {
    return this.jobs.reduce((a, j) => a + j.slotsHeld(), 0);
  }

  pendingTaskManagers(): number {
    return this.taskManagers.filter(tm => !tm.alive).length;
  }

  /** Capacity multiplier of a TaskManager: GC pauses, CPU steal, NIC errors, a hung TM. */
  capacityFactor(tmIndex: number, elapsed: number): number {
    const tm = this.taskManagers[tmIndex];
    if (tm === undefined || !tm.alive || tm.unresponsiveSince !== undefined) return 0;
    let f = 1;
    for (const fault of this.scenario.faults) {
      if (!isActive(fault, elapsed)) continue;
      if (fault.kind === 'gc-pressure' && (fault.taskManager === undefined || fault.taskManager === tmIndex))
        f *= 1 - param(fault, 'gcMsPerSecond', 450) / 1000;
      if (fault.kind === 'cpu-steal' && (fault.node ?? 0) === tm.node) f *= 1 - param(fault, 'steal', 0.4);
      if (fault.kind === 'nic-errors' && (fault.node ?? 0) === tm.node)
        f *= 1 - param(fault, 'slowdown', 0.15);
    }
    return f;
  }

  private resourceIdOf(tm: TaskManagerState): string {
    return `${tm.host}:${tm.port}-${hexId(this.scenario.seed, 'tm', tm.index, tm.generation).slice(0, 6)}`;
  }

  private tick(now: number): void {
    const elapsed = now - this.origin;
    this.taskManagerFaults(now, elapsed);
    const env: StepEnv = {
      now,
      elapsed,
      startEpoch: this.origin,
      capacityFactor: tm => this.capacityFactor(tm, elapsed),
    };
    for (const job of this.jobs) this.tickJob(job, env);
    for (const tm of this.taskManagers) this.tickTaskManager(tm, elapsed);
    for (const node of this.nodes) this.tickNode(node, elapsed);
    this.logs.observe(
      {
        origin: this.origin,
        rpc: 'pekko',
        faults: this.scenario.faults,
        taskManagers: this.taskManagers,
        jobs: this.jobs,
      },
      now,
    );
  }

  private tickJob(job: JobModel, env: StepEnv): void {
    const { now } = env;
    const faults = this.faultsOf(job);
    if ((job.status === 'RESTARTING' || job.status === 'CREATED') && now >= job.restartUntil)
      this.tryStart(job, now);
    if (job.status !== 'RUNNING') {
      job.accumulateWhileDown(env, faults);
      return;
    }
    const loop = this.restartLoopFailure(job, env.elapsed, now);
    if (loop !== undefined) {
      job.stop(now, job.spec.restartDelay, loop.failure, loop.at);
      return;
    }
    if (this.rescaleDue(job, now)) return;
    const outcome = job.step(env, faults);
    if (outcome.failure !== undefined) job.stop(now, job.spec.restartDelay, outcome.failure, outcome.at);
  }

  /** Faults that fail a running job again and again (restart loop) after some time running. */
  private restartLoopFailure(
    job: JobModel,
    elapsed: number,
    now: number,
  ): { failure: FailureText; at: { vertex: number; subtask: number } } | undefined {
    for (const f of this.faultsOf(job)) {
      if (!isActive(f, elapsed)) continue;
      const every =
        f.kind === 'nic-errors'
          ? f.params.failEverySeconds
          : (f.params.failAfterSeconds ?? FAIL_AFTER_SECONDS[f.kind]);
      if (every === undefined || now - job.runningSince < every * 1000) continue;
      if (now - this.origin - f.from < every * 1000 && f.kind !== 'connector-unreachable') continue;
      const fallback = f.kind === 'connector-unreachable' ? 'source' : 'keyed';
      const vertex = Math.max(0, job.faultVertex(f, fallback));
      let subtask = 0;
      if (f.kind === 'disk-full' || f.kind === 'nic-errors') {
        const onNode = job.slots.findIndex(tmIdx => this.taskManagers[tmIdx]?.node === (f.node ?? 0));
        if (onNode < 0) continue;
        subtask = onNode;
      }
      const tmIdx = job.slots[subtask] ?? 0;
      const v = job.vertices[vertex];
      const failure = failureOf(f.kind, {
        taskManagerId: this.taskManagers[tmIdx]?.resourceId ?? '',
        peer: this.peerOf(tmIdx),
        topic: (v?.spec.name ?? 'topic')
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '-')
          .replace(/^-|-$/g, ''),
        partition: hash32(`${job.id}/${now}`) % Math.max(1, v?.spec.partitions ?? v?.parallelism ?? 1),
        isSink: v !== undefined && v.outputs.length === 0 && !v.isSource,
      });
      if (failure !== undefined)
        return { failure, at: { vertex, subtask: Math.min(subtask, (v?.parallelism ?? 1) - 1) } };
    }
    return undefined;
  }

  private peerOf(tmIdx: number): string {
    const peer = this.taskManagers[(tmIdx + 1) % this.taskManagers.length];
    return peer === undefined ? '' : `${peer.host}/${peer.host}:${peer.dataPort}`;
  }

  /** Adaptive scheduler: apply new requirements or newly available slots after stabilization. */
  private rescaleDue(job: JobModel, now: number): boolean {
    if (job.spec.scheduler !== 'adaptive') return false;
    const stabilization = this.scenario.cluster.stabilizationTimeout;
    const free = this.freeSlotsFor(job).length;
    const target = Math.min(job.slotsWanted(), free);
    const current = job.slots.length;
    const pending = job.pendingSince();
    if (pending !== undefined) {
      if (!this.requirementsDue(job, pending, now)) return false;
      job.clearPending();
      const changes = job.vertices.some(v => Math.min(v.upperBound, target) !== v.parallelism);
      this.resourcesSince.delete(job);
      const record = this.newRescale(job, 'UPDATE_REQUIREMENT', now, target);
      if (!changes) {
        record.end = now;
        record.terminalState = 'IGNORED';
        return false;
      }
      this.rescaleTrigger.set(job, 'UPDATE_REQUIREMENT');
      job.numRescales++;
      job.stopForRescale(now, this.scenario.cluster.restartDowntime);
      return true;
    }
    if (target > current && job.vertices.some(v => v.parallelism < v.upperBound)) {
      const since = this.resourcesSince.get(job) ?? now;
      this.resourcesSince.set(job, since);
      if (now - since < stabilization) return false;
      this.resourcesSince.delete(job);
      this.newRescale(job, 'NEW_RESOURCE_AVAILABLE', now, target);
      this.rescaleTrigger.set(job, 'NEW_RESOURCE_AVAILABLE');
      job.numRescales++;
      job.stopForRescale(now, this.scenario.cluster.restartDowntime);
      return true;
    }
    this.resourcesSince.delete(job);
    return false;
  }

  /**
   * Whether updated requirements take effect now, in the Executing state. Not after the
   * stabilization timeout (that is for resources arriving): 1.x restarts at once, once the job has
   * run for jobmanager.adaptive-scheduler.scaling-interval.min since its last (re)start; 2.x also
   * waits for the next checkpoint completed after the update, or rescale-trigger.max-delay
   * (3 checkpoint intervals by default) without one. Verified against real 1.20.3 and 2.3.0
   * (test/integration/sim/recordings.test.ts).
   */
  private requirementsDue(job: JobModel, pending: number, now: number): boolean {
    if (now - job.runningSince < SCALING_INTERVAL_MIN_MS) return false;
    if (!this.features.rescaleOnCheckpoint) return true;
    const completed = job.checkpoints.latestCompleted;
    if (completed !== undefined && completed.latestAckTimestamp >= pending) return true;
    return now - pending >= 3 * job.spec.checkpoint.interval;
  }

  private newRescale(
    job: JobModel,
    trigger: 'UPDATE_REQUIREMENT' | 'NEW_RESOURCE_AVAILABLE',
    now: number,
    slots: number,
  ): RescaleRecord {
    const record = {
      uuid: hexId(this.scenario.seed, 'rescale', job.id, job.rescales.length),
      requirementsUuid: hexId(this.scenario.seed, 'req', job.id, job.requirementsVersion),
      trigger,
      start: now,
      pre: job.currentParallelism(),
      desired: Object.fromEntries(job.vertices.map(v => [v.id, Math.min(v.upperBound, slots)])),
    };
    job.rescales.unshift(record);
    if (job.rescales.length > 20) job.rescales.length = 20;
    return record;
  }

  /** Free slots (TaskManager index per slot) this job could use, counting its own. */
  freeSlotsFor(job: JobModel): number[] {
    const used = new Map<number, number>();
    for (const other of this.jobs) {
      if (other === job || other.status === 'CREATED') continue;
      for (const tm of other.slots) used.set(tm, (used.get(tm) ?? 0) + 1);
    }
    const free: number[] = [];
    for (const tm of this.taskManagers) {
      if (!tm.alive || tm.unresponsiveSince !== undefined) continue;
      for (let s = used.get(tm.index) ?? 0; s < tm.slots; s++) free.push(tm.index);
    }
    return free;
  }

  private tryStart(job: JobModel, now: number): void {
    const free = this.freeSlotsFor(job);
    const wanted = job.slotsWanted();
    const minimum = job.spec.scheduler === 'adaptive' ? job.slotsRequiredMin() : wanted;
    const n = Math.min(wanted, free.length);
    if (n >= minimum && n > 0) {
      // Spread over TaskManagers the way Flink's default slot matching fills them: in order.
      job.start(
        now,
        free.slice(0, n).sort((a, b) => a - b),
      );
      this.waitingSince.delete(job);
      const rescale = job.rescales[0];
      if (rescale !== undefined && rescale.end === undefined) {
        rescale.end = now;
        rescale.terminalState = 'COMPLETED';
        rescale.post = job.currentParallelism();
      }
      return;
    }
    job.waitForResources(now);
    const since = this.waitingSince.get(job) ?? now;
    this.waitingSince.set(job, since);
    if (now - since >= this.scenario.cluster.resourceWaitTimeout) {
      job.recordException(now, NO_RESOURCES);
      this.waitingSince.set(job, now);
    }
  }

  private killTaskManager(tm: TaskManagerState, now: number, failure: FailureText, downMs: number): void {
    tm.alive = false;
    tm.unresponsiveSince = undefined;
    tm.downUntil = now + downMs;
    for (const job of this.jobs) {
      if (job.status !== 'RUNNING' || !job.slots.includes(tm.index)) continue;
      const subtask = job.slots.indexOf(tm.index);
      job.stop(now, job.spec.restartDelay, failure, { vertex: 0, subtask });
      const first = job.exceptions[0];
      if (first !== undefined) first.taskManagerId = tm.resourceId;
    }
  }

  private reviveTaskManager(tm: TaskManagerState, now: number): void {
    tm.alive = true;
    tm.removedByFault = false;
    tm.generation++;
    tm.resourceId = this.resourceIdOf(tm);
    tm.registeredAt = now;
    tm.gcMsPerSecond.reset();
    tm.cpuLoad.reset();
    tm.youngCount = tm.youngTimeMs = tm.oldCount = tm.oldTimeMs = 0;
  }

  private taskManagerFaults(now: number, elapsed: number): void {
    const c = this.scenario.cluster;
    for (const f of this.scenario.faults) {
      const active = isActive(f, elapsed);
      if (f.kind === 'container-oom-kill' && active) {
        const tm = this.taskManagers[f.taskManager ?? 0];
        const every = param(f, 'everySeconds', 0) * 1000;
        const last = this.fired.get(f);
        if (tm !== undefined && tm.alive && (last === undefined || (every > 0 && now - last >= every))) {
          this.fired.set(f, now);
          tm.oomKills++;
          const node = this.nodes[tm.node];
          if (node !== undefined) node.oomKills++;
          const text = failureOf('container-oom-kill', {
            taskManagerId: tm.resourceId,
            peer: '',
            topic: '',
            partition: 0,
            isSink: false,
          });
          if (text !== undefined) this.killTaskManager(tm, now, text, c.taskManagerReplaceDelay);
        }
      }
      if (f.kind === 'tm-heartbeat-timeout' && active && !this.fired.has(f)) {
        const tm = this.taskManagers[f.taskManager ?? 0];
        if (tm !== undefined && tm.alive) {
          if (tm.unresponsiveSince === undefined) tm.unresponsiveSince = now;
          if (now - tm.unresponsiveSince >= param(f, 'timeoutSeconds', 50) * 1000) {
            this.fired.set(f, now);
            const text = failureOf('tm-heartbeat-timeout', {
              taskManagerId: tm.resourceId,
              peer: '',
              topic: '',
              partition: 0,
              isSink: false,
            });
            if (text !== undefined) this.killTaskManager(tm, now, text, c.taskManagerReplaceDelay);
          }
        }
      }
      if (f.kind === 'no-slots') {
        const count = Math.min(
          param(f, 'count', Math.ceil(this.taskManagers.length / 2)),
          this.taskManagers.length,
        );
        for (const tm of this.taskManagers.slice(this.taskManagers.length - count)) {
          if (active && tm.alive) {
            tm.removedByFault = true;
            const text = failureOf('no-slots', {
              taskManagerId: tm.resourceId,
              peer: '',
              topic: '',
              partition: 0,
              isSink: false,
            });
            if (text !== undefined) this.killTaskManager(tm, now, text, Number.POSITIVE_INFINITY);
          } else if (!active && tm.removedByFault) this.reviveTaskManager(tm, now);
        }
      }
    }
    for (const tm of this.taskManagers)
      if (!tm.alive && !tm.removedByFault && now >= tm.downUntil) this.reviveTaskManager(tm, now);
  }

  private activeOn(
    kind: FaultSpec['kind'],
    elapsed: number,
    match: (f: FaultSpec) => boolean,
  ): FaultSpec | undefined {
    return this.scenario.faults.find(f => f.kind === kind && isActive(f, elapsed) && match(f));
  }

  private tickTaskManager(tm: TaskManagerState, elapsed: number): void {
    if (!tm.alive) return;
    const heapMax = this.scenario.cluster.tmHeapBytes;
    let busySum = 0;
    for (const job of this.jobs)
      for (const v of job.vertices) for (const s of v.subtasks) if (s.tm === tm.index) busySum += s.lastBusy;
    const load = Math.min(1, busySum / tm.slots);
    const onTm = (f: FaultSpec): boolean => f.taskManager === undefined || f.taskManager === tm.index;
    const gcFault = this.activeOn('gc-pressure', elapsed, onTm);
    const heapFault = this.activeOn('heap-oom', elapsed, onTm);
    const gcMs =
      4 +
      30 * load +
      (gcFault !== undefined ? param(gcFault, 'gcMsPerSecond', 450) : 0) +
      (heapFault !== undefined ? 250 : 0);
    tm.gcMsPerSecond.push(gcMs);
    tm.cpuLoad.push(Math.min(1, 0.04 + 0.9 * load));
    const young = gcFault !== undefined || heapFault !== undefined ? 0.6 : 0.3 + load;
    tm.youngCount += young;
    tm.youngTimeMs += gcMs * 0.8;
    if (gcFault !== undefined || heapFault !== undefined) {
      tm.oldCount += 0.05;
      tm.oldTimeMs += gcMs * 0.2;
    }
    const saw = ((elapsed / 1000) % 30) / 30;
    tm.heapUsed =
      gcFault !== undefined || heapFault !== undefined
        ? heapMax * (0.93 + 0.06 * saw)
        : heapMax * (0.25 + 0.3 * load + 0.15 * saw);
    tm.metaspaceUsed =
      this.activeOn('metaspace-oom', elapsed, onTm) !== undefined ? METASPACE_MAX * 0.995 : 96 * 1024 ** 2;
    tm.directUsed =
      this.activeOn('direct-oom', elapsed, onTm) !== undefined
        ? DIRECT_MAX * 0.998
        : (64 + 64 * load) * 1024 ** 2;
  }

  private tickNode(node: NodeState, elapsed: number): void {
    const onNode = (f: FaultSpec): boolean => (f.node ?? 0) === node.index;
    const tms = this.taskManagers.filter(tm => tm.node === node.index && tm.alive);
    const load = tms.length === 0 ? 0 : tms.reduce((a, tm) => a + tm.cpuLoad.value(), 0) / tms.length;
    const steal = this.activeOn('cpu-steal', elapsed, onNode);
    const stealRatio = steal !== undefined ? param(steal, 'steal', 0.4) : 0.002;
    const user = Math.min(1 - stealRatio, load * 0.8);
    const system = Math.min(1 - stealRatio - user, load * 0.1 + 0.01);
    const iowait = 0.005;
    const idle = Math.max(0, 1 - stealRatio - user - system - iowait);
    node.cpuSeconds.user += user * node.cores;
    node.cpuSeconds.system += system * node.cores;
    node.cpuSeconds.iowait += iowait * node.cores;
    node.cpuSeconds.steal += stealRatio * node.cores;
    node.cpuSeconds.idle += idle * node.cores;
    const disk = this.activeOn('disk-full', elapsed, onNode);
    node.fsAvailBytes =
      disk !== undefined ? node.fsSizeBytes * param(disk, 'freeRatio', 0.004) : node.fsSizeBytes * 0.55;
    const pps = 20_000 + 80_000 * load;
    const nic = this.activeOn('nic-errors', elapsed, onNode);
    const errRatio = nic !== undefined ? param(nic, 'errorRatio', 0.03) : 0;
    node.rxPackets += pps;
    node.txPackets += pps;
    node.rxErrors += pps * errRatio;
    node.txErrors += pps * errRatio * 0.5;
    node.rxDrops += pps * errRatio * 0.2;
    node.memAvailableBytes = node.memTotalBytes * (0.5 - 0.2 * load);
  }
}
