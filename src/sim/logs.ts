import { isActive, param } from './faults.js';
import { hash32 } from './random.js';
import type { FaultSpec } from './scenario.js';

/**
 * The JobManager's and TaskManagers' log files of a simulated cluster, in Flink's default log4j
 * layout (`%d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n`), written as the model runs:
 * checkpoints, job and task state changes with the failure's stack trace, and the warnings real
 * clusters print before things fail — RPC ask timeouts, heartbeat timeouts and unreachable
 * recipients before a TaskManager is lost, Kafka client connection warnings before a connector
 * fails, JVM pause warnings under GC pressure, slow checkpoint barriers and expired checkpoints.
 * Files grow with the clock and rotate at `maxFileBytes` (`<name>` → `<name>.1` → …), keeping
 * `keepRotated` old files, so memory stays bounded.
 */

export interface SimLogOptions {
  maxFileBytes: number;
  keepRotated: number;
}

export interface SimLogFileInfo {
  name: string;
  size: number;
  mtime: number;
}

interface Content {
  parts: string[];
  size: number;
  mtime: number;
}

/** The content as one string; joined once and kept joined (files are read far more than written). */
function text(c: Content): string {
  if (c.parts.length > 1) c.parts = [c.parts.join('')];
  return c.parts[0] ?? '';
}

/** One log file and its rotated predecessors. */
export class SimLogFile {
  private current: Content;
  private readonly rotated: Content[] = [];
  rotations = 0;

  constructor(
    readonly name: string,
    created: number,
    private readonly opts: SimLogOptions,
  ) {
    this.current = { parts: [], size: 0, mtime: created };
  }

  /** Appends one event; its time never goes before the file's last one (log4j writes in order). */
  write(at: number, level: Level, logger: string, message: string, trace = ''): void {
    const t = Math.max(at, this.current.mtime);
    this.append(logLine(t, level, logger, message, trace), t);
  }

  append(text: string, at: number): void {
    const bytes = Buffer.byteLength(text);
    if (this.current.size > 0 && this.current.size + bytes > this.opts.maxFileBytes) {
      this.rotated.unshift(this.current);
      if (this.rotated.length > this.opts.keepRotated) this.rotated.length = this.opts.keepRotated;
      this.current = { parts: [], size: 0, mtime: at };
      this.rotations++;
    }
    this.current.parts.push(text);
    this.current.size += bytes;
    this.current.mtime = at;
  }

  list(): SimLogFileInfo[] {
    return [
      { name: this.name, size: this.current.size, mtime: this.current.mtime },
      ...this.rotated.map((c, i) => ({ name: `${this.name}.${i + 1}`, size: c.size, mtime: c.mtime })),
    ];
  }

  /** The file's text by listed name (`<name>` or `<name>.N`), undefined when there is none. */
  read(name: string): string | undefined {
    if (name === this.name) return text(this.current);
    const m = /\.(\d+)$/.exec(name);
    if (m === null || name !== `${this.name}.${m[1]}`) return undefined;
    const c = this.rotated[Number(m[1]) - 1];
    return c === undefined ? undefined : text(c);
  }
}

/** One component's files: the log and the (empty) stdout file. */
export class SimComponentLogs {
  readonly log: SimLogFile;
  readonly outName: string;

  constructor(
    base: 'jobmanager' | 'taskmanager',
    private readonly created: number,
    opts: SimLogOptions,
  ) {
    this.log = new SimLogFile(`${base}.log`, created, opts);
    this.outName = `${base}.out`;
  }

  list(): SimLogFileInfo[] {
    return [...this.log.list(), { name: this.outName, size: 0, mtime: this.created }];
  }

  read(name: string): string | undefined {
    return name === this.outName ? '' : this.log.read(name);
  }
}

type Level = 'INFO' | 'WARN' | 'ERROR';

function stamp(at: number): string {
  return new Date(at).toISOString().replace('T', ' ').replace('Z', '').replace('.', ',');
}

/** One event: the header line in Flink's layout plus optional continuation lines. */
export function logLine(at: number, level: Level, logger: string, message: string, trace = ''): string {
  return `${stamp(at)} ${level.padEnd(5)} ${logger.padEnd(60)} [] - ${message}\n${trace === '' ? '' : `${trace}\n`}`;
}

/** What the log writer reads of the model (structural, so the model does not depend on this file). */
export interface LogView {
  origin: number;
  rpc: 'pekko' | 'akka';
  faults: readonly FaultSpec[];
  taskManagers: readonly {
    index: number;
    host: string;
    port: number;
    dataPort: number;
    resourceId: string;
    alive: boolean;
    unresponsiveSince: number | undefined;
  }[];
  jobs: readonly {
    id: string;
    spec: { name: string; checkpoint: { interval: number; timeout: number } };
    status: string;
    slots: readonly number[];
    vertices: readonly {
      spec: { name: string; partitions?: number | undefined };
      isSource: boolean;
      outputs: readonly number[];
      parallelism: number;
    }[];
    exceptions: readonly { stacktrace: string; timestamp: number; taskName: string; taskManagerId: string }[];
    checkpoints: {
      counts: { completed: number; failed: number; total: number };
      latestCompleted?: { id: number; endToEndDurationMs: number; checkpointedSizeBytes: number } | undefined;
      latestFailed?: { id: number; failureMessage?: string | undefined } | undefined;
      inProgress(): { id: number; triggerTimestamp: number } | undefined;
    };
  }[];
}

const CHECKPOINT_COORDINATOR = 'org.apache.flink.runtime.checkpoint.CheckpointCoordinator';
const JOB_MASTER = 'org.apache.flink.runtime.jobmaster.JobMaster';
const EXECUTION_GRAPH = 'org.apache.flink.runtime.executiongraph.ExecutionGraph';
const RESOURCE_MANAGER = 'org.apache.flink.runtime.resourcemanager.active.ActiveResourceManager';
const SUBTASK_CHECKPOINT = 'org.apache.flink.streaming.runtime.tasks.SubtaskCheckpointCoordinatorImpl';
const NETWORK_CLIENT = 'org.apache.kafka.clients.NetworkClient';
const JVM_PAUSE = 'org.apache.hadoop.util.JvmPauseMonitor';
const TASK_EXECUTOR = 'org.apache.flink.runtime.taskexecutor.TaskExecutor';

interface JobSeen {
  /** TaskManager indexes of the job's slots when it last ran. */
  slots: number[];
  status: string;
  completed: number;
  failed: number;
  exceptions: number;
  slowWarned: number;
}

/** Writes the logs of one simulated cluster; `observe()` runs after every 1 s model step. */
export class SimLogs {
  readonly jobManager: SimComponentLogs;
  private readonly taskManagers = new Map<string, SimComponentLogs>();
  private readonly jobs = new Map<string, JobSeen>();
  private readonly alive = new Map<number, string | undefined>();

  constructor(
    private readonly opts: SimLogOptions,
    origin: number,
  ) {
    this.jobManager = new SimComponentLogs('jobmanager', origin, opts);
  }

  /** The logs of a live TaskManager by resource id (a restarted one has a new id and new files). */
  taskManager(resourceId: string): SimComponentLogs | undefined {
    return this.taskManagers.get(resourceId);
  }

  private tm(resourceId: string, now: number): SimComponentLogs {
    let logs = this.taskManagers.get(resourceId);
    if (logs === undefined) {
      logs = new SimComponentLogs('taskmanager', now, this.opts);
      this.taskManagers.set(resourceId, logs);
    }
    return logs;
  }

  private jm(at: number, level: Level, logger: string, message: string, trace = ''): void {
    this.jobManager.log.write(at, level, logger, message, trace);
  }

  private tmLog(id: string, at: number, level: Level, logger: string, message: string, trace = ''): void {
    this.tm(id, at).log.write(at, level, logger, message, trace);
  }

  observe(view: LogView, now: number): void {
    const elapsed = now - view.origin;
    const sec = Math.floor(elapsed / 1000);
    const ms = (key: string): number => now + (hash32(`${key}/${sec}`) % 997);
    this.taskManagerLifecycle(view, now, elapsed);
    for (const job of view.jobs) this.jobEvents(view, job, now, ms);
    for (const f of view.faults) {
      if (!isActive(f, elapsed)) continue;
      this.faultWarnings(view, f, now, sec, ms);
    }
  }

  private taskManagerLifecycle(view: LogView, now: number, elapsed: number): void {
    for (const tm of view.taskManagers) {
      const known = this.alive.has(tm.index);
      const before = this.alive.get(tm.index);
      const current = tm.alive ? tm.resourceId : undefined;
      if (known && before === current) continue;
      this.alive.set(tm.index, current);
      if (before !== undefined) {
        this.taskManagers.delete(before);
        const onTm = (kind: FaultSpec['kind']): boolean =>
          view.faults.some(f => f.kind === kind && (f.taskManager ?? 0) === tm.index && isActive(f, elapsed));
        if (onTm('tm-heartbeat-timeout'))
          this.jm(
            now,
            'INFO',
            RESOURCE_MANAGER,
            `Closing TaskExecutor connection ${before} because: The heartbeat of TaskManager with id ${before} timed out.`,
          );
        else
          this.jm(
            now,
            'INFO',
            RESOURCE_MANAGER,
            `Worker ${before} is terminated. Diagnostics: Pod terminated, container termination statuses: [flink-main-container(${onTm('container-oom-kill') ? 'exitCode=137, reason=OOMKilled' : 'exitCode=143, reason=Completed'}, message=null)], pod status: Failed(reason=null, message=null)`,
          );
      }
      if (current !== undefined) {
        this.tmLog(current, now, 'INFO', TASK_EXECUTOR, `Starting TaskExecutor with resource id ${current}.`);
        if (known)
          this.jm(
            now,
            'INFO',
            RESOURCE_MANAGER,
            `Registering TaskManager with ResourceID ${current} (${view.rpc}.tcp://flink@${tm.host}:${tm.port}/user/rpc/taskmanager_0) at ResourceManager`,
          );
      }
    }
  }

  private jobEvents(
    view: LogView,
    job: LogView['jobs'][number],
    now: number,
    ms: (k: string) => number,
  ): void {
    const seen = this.jobs.get(job.id) ?? {
      slots: [...job.slots],
      status: 'CREATED',
      completed: job.checkpoints.counts.completed,
      failed: job.checkpoints.counts.failed,
      exceptions: job.exceptions.length,
      slowWarned: 0,
    };
    const cp = job.checkpoints;
    if (cp.counts.completed > seen.completed && cp.latestCompleted !== undefined) {
      const c = cp.latestCompleted;
      this.jm(
        ms(`${job.id}/cp`),
        'INFO',
        CHECKPOINT_COORDINATOR,
        `Completed checkpoint ${c.id} for job ${job.id} (${c.checkpointedSizeBytes} bytes, checkpointDuration=${c.endToEndDurationMs} ms, finalizationTime=2 ms).`,
      );
    }
    if (cp.counts.failed > seen.failed && cp.latestFailed !== undefined) {
      const f = cp.latestFailed;
      this.jm(
        ms(`${job.id}/cpf`),
        'INFO',
        CHECKPOINT_COORDINATOR,
        `Checkpoint ${f.id} of job ${job.id} expired before completing.`,
      );
      this.jm(
        ms(`${job.id}/cpw`),
        'WARN',
        CHECKPOINT_COORDINATOR,
        `Failed to trigger or complete checkpoint ${f.id} for job ${job.id}. (${cp.counts.failed} consecutive failed attempts so far)`,
        `org.apache.flink.runtime.checkpoint.CheckpointException: ${f.failureMessage ?? 'Checkpoint expired before completing.'}\n\tat org.apache.flink.runtime.checkpoint.CheckpointCoordinator$CheckpointCanceller.run(CheckpointCoordinator.java:2316)`,
      );
    }
    const running = cp.inProgress();
    if (running !== undefined && running.id !== seen.slowWarned) {
      const age = now - running.triggerTimestamp;
      if (age > Math.min(job.spec.checkpoint.interval, job.spec.checkpoint.timeout / 2)) {
        seen.slowWarned = running.id;
        const tm = view.taskManagers[job.slots[0] ?? 0];
        if (tm?.alive === true)
          this.tmLog(
            tm.resourceId,
            ms(`${job.id}/slow`),
            'WARN',
            SUBTASK_CHECKPOINT,
            `Time from receiving all checkpoint barriers/RPC to executing it exceeded threshold: ${age}ms`,
          );
      }
    }
    const e = job.exceptions[0];
    const failed = e !== undefined && e.timestamp === now && job.status !== seen.status ? e : undefined;
    if (failed !== undefined) {
      // The task that failed, on the TaskManager it ran on (the job's slots are gone by now).
      const tm =
        view.taskManagers.find(t => t.resourceId === failed.taskManagerId && failed.taskManagerId !== '') ??
        view.taskManagers[seen.slots[0] ?? -1];
      const where = tm === undefined ? '' : ` on ${tm.resourceId} @ ${tm.host} (dataPort=${tm.dataPort})`;
      this.jm(
        now,
        'INFO',
        EXECUTION_GRAPH,
        `${failed.taskName === '' ? job.spec.name : failed.taskName} (attempt #0) switched from RUNNING to FAILED${where}.`,
        failed.stacktrace,
      );
    }
    if (job.status !== seen.status) {
      // As Flink does, the job's state change carries the failure that caused it.
      this.jm(
        now,
        'INFO',
        JOB_MASTER,
        `Job ${job.spec.name} (${job.id}) switched from state ${seen.status} to ${job.status}.`,
        failed?.stacktrace ?? '',
      );
    }
    if (job.slots.length > 0) seen.slots = [...job.slots];
    seen.status = job.status;
    seen.completed = cp.counts.completed;
    seen.failed = cp.counts.failed;
    seen.exceptions = job.exceptions.length;
    this.jobs.set(job.id, seen);
  }

  private faultWarnings(
    view: LogView,
    f: FaultSpec,
    now: number,
    sec: number,
    ms: (k: string) => number,
  ): void {
    const rpc = view.rpc;
    switch (f.kind) {
      case 'tm-heartbeat-timeout': {
        const tm = view.taskManagers[f.taskManager ?? 0];
        if (tm === undefined || !tm.alive || tm.unresponsiveSince === undefined) return;
        const since = Math.floor((now - tm.unresponsiveSince) / 1000);
        const timeout = param(f, 'timeoutSeconds', 50);
        const recipient = `${rpc}.tcp://flink@${tm.host}:${tm.port}/user/rpc/taskmanager_0`;
        const rpcPkg = rpc === 'pekko' ? 'org.apache.pekko' : 'akka';
        const handler = `org.apache.flink.runtime.rpc.${rpc}.${rpc === 'pekko' ? 'Pekko' : 'Akka'}InvocationHandler`;
        if (since >= 2 && (since - 2) % 5 === 0)
          this.jm(
            ms('ask'),
            'WARN',
            JOB_MASTER,
            `Failed to request the state of TaskManager ${tm.resourceId}.`,
            [
              `java.util.concurrent.TimeoutException: Invocation of [RemoteRpcInvocation(TaskExecutorGateway.heartbeatFromJobManager(ResourceID, AllocatedSlotReport))] at recipient [${recipient}] timed out. This is usually caused by: 1) ${rpc === 'pekko' ? 'Pekko' : 'Akka'} failed sending the message silently, due to problems like oversized payload or serialization failures. In that case, you should find detailed error information in the logs. 2) The recipient needs more time for responding, due to problems like slow machines or network jitters. In that case, you can try to increase ${rpc}.ask.timeout.`,
              `\tat ${handler}.lambda$invokeRpc$1(${handler.split('.').pop() ?? ''}.java:260)`,
              `\tat java.base/java.util.concurrent.CompletableFuture.uniWhenComplete(CompletableFuture.java:863)`,
              `Caused by: ${rpcPkg}.pattern.AskTimeoutException: Ask timed out on [Actor[${recipient}#-${hash32(tm.resourceId) % 100000000}]] after [10000 ms]. Message of type [org.apache.flink.runtime.rpc.messages.RemoteRpcInvocation]. A typical reason for \`AskTimeoutException\` is that the recipient actor didn't send a reply.`,
              `\tat ${rpcPkg}.pattern.PromiseActorRef$.$anonfun$defaultOnTimeout$1(AskSupport.scala:635)`,
              '\t... 12 more',
            ].join('\n'),
          );
        if (since >= 5 && (since - 5) % 10 === 0)
          this.jm(
            ms('hb'),
            'INFO',
            RESOURCE_MANAGER,
            `Heartbeat of TaskManager with id ${tm.resourceId} timed out (missed heartbeat RPC ${1 + Math.floor((since - 5) / 10)} of ${Math.max(1, Math.floor(timeout / 10))}).`,
          );
        if (since >= timeout - 20 && since % 4 === 0)
          this.jm(
            ms('unreachable'),
            'WARN',
            JOB_MASTER,
            `Could not send heartbeat request to TaskManager ${tm.resourceId}.`,
            [
              `org.apache.flink.runtime.rpc.exceptions.RecipientUnreachableException: Could not send message [RemoteRpcInvocation(TaskExecutorGateway.heartbeatFromJobManager(ResourceID, AllocatedSlotReport))] from sender [Actor[${rpc}://flink/temp/taskmanager_0$${sec}]] to recipient [${recipient}], because the recipient is unreachable. This can either mean that the recipient has been terminated or that the remote RpcService is currently not reachable.`,
              `\tat ${handler}.deserializeValueIfNeeded(${handler.split('.').pop() ?? ''}.java:446)`,
            ].join('\n'),
          );
        return;
      }
      case 'connector-unreachable': {
        if (sec % 3 !== 0) return;
        for (const job of view.jobs) {
          if (f.job !== undefined && f.job !== job.spec.name) continue;
          if (job.status !== 'RUNNING') continue;
          const v = job.vertices.find(x => x.spec.name === f.vertex) ?? job.vertices.find(x => x.isSource);
          if (v === undefined) continue;
          const tm = view.taskManagers[job.slots[0] ?? 0];
          if (tm?.alive !== true) continue;
          const topic = v.spec.name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
          const client =
            !v.isSource && v.outputs.length === 0
              ? `Producer clientId=producer-${topic}-1`
              : `Consumer clientId=${topic}-0, groupId=${job.spec.name}`;
          this.tmLog(
            tm.resourceId,
            ms(`kafka/${job.id}`),
            'WARN',
            NETWORK_CLIENT,
            `[${client}] Connection to node -1 (kafka-0.kafka.svc/10.0.9.1:9092) could not be established. Broker may not be available.`,
          );
        }
        return;
      }
      case 'gc-pressure':
      case 'heap-oom': {
        const every = f.kind === 'heap-oom' ? 7 : 11;
        if (sec % every !== 0) return;
        // A job's fault shows on the TaskManagers running it; otherwise where the fault says.
        const ofJob = view.jobs.find(j => j.spec.name === f.job);
        for (const tm of view.taskManagers) {
          if (!tm.alive || (f.taskManager !== undefined && f.taskManager !== tm.index)) continue;
          if (f.taskManager === undefined && ofJob !== undefined && !ofJob.slots.includes(tm.index)) continue;
          const pause = Math.round(param(f, 'gcMsPerSecond', 450) * 8 + (hash32(`${tm.index}/${sec}`) % 900));
          this.tmLog(
            tm.resourceId,
            ms(`gc/${tm.index}`),
            'WARN',
            JVM_PAUSE,
            `Detected pause in JVM or host machine (eg GC): pause of approximately ${pause}ms`,
            `GC pool 'G1 Old Generation' had collection(s): count=1 time=${pause - 40}ms`,
          );
        }
        return;
      }
      default:
        return;
    }
  }
}
