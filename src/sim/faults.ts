import type { FaultKind, FaultSpec } from './scenario.js';

/**
 * The fault catalogue: for each fault kind, what Flink reports when it hits (exception class and
 * message as real Flink, connectors and the JVM print them; shared/research/diagnosis-catalog.md §3)
 * and the defaults of its knobs. The effects themselves live in the model (job-model.ts,
 * cluster.ts); this file only describes.
 */

export function isActive(f: FaultSpec, elapsedMs: number): boolean {
  return elapsedMs >= f.from && (f.to === undefined || elapsedMs < f.to);
}

export function param(f: FaultSpec, name: string, fallback: number): number {
  return f.params[name] ?? fallback;
}

export interface FailureText {
  exceptionName: string;
  message: string;
  frames: readonly string[];
}

const TASK_FRAMES = [
  'org.apache.flink.streaming.runtime.tasks.StreamTask.processInput(StreamTask.java:614)',
  'org.apache.flink.streaming.runtime.tasks.mailbox.MailboxProcessor.runMailboxLoop(MailboxProcessor.java:231)',
  'org.apache.flink.streaming.runtime.tasks.StreamTask.runMailboxLoop(StreamTask.java:973)',
  'org.apache.flink.runtime.taskmanager.Task.doRun(Task.java:951)',
  'org.apache.flink.runtime.taskmanager.Task.run(Task.java:566)',
  'java.base/java.lang.Thread.run(Thread.java:829)',
];

const METASPACE =
  "Metaspace. The metaspace out-of-memory error has occurred. This can mean two things: either the job requires a larger size of JVM metaspace to load classes or there is a class loading leak. In the first case 'taskmanager.memory.jvm-metaspace.size' configuration option should be increased. If the error persists (usually in cluster after several job (re-)submissions) then there is probably a class loading leak in user code or some of its dependencies which has to be investigated and fixed. The task executor has to be shutdown...";
const DIRECT =
  "Direct buffer memory. The direct out-of-memory error has occurred. This can mean two things: either job(s) require(s) a larger size of JVM direct memory or there is a direct memory leak. The direct memory can be allocated by user code or some of its dependencies. In this case 'taskmanager.memory.task.off-heap.size' configuration option should be increased. Flink framework and its dependencies also consume the direct memory, mostly for network communication. The most of network memory is managed by Flink and should not result in out-of-memory error. In certain special cases, in particular for jobs with high parallelism, the framework may require more direct memory which is not managed by Flink. In this case 'taskmanager.memory.framework.off-heap.size' configuration option should be increased. If the error persists then there is probably a direct memory leak in user code or some of its dependencies which has to be investigated and fixed. The task executor has to be shutdown...";

export interface FailureContext {
  /** Resource id of the TaskManager involved. */
  taskManagerId: string;
  /** `host/ip:port` of a peer TaskManager (network faults). */
  peer: string;
  /** Topic / table the connector talks to. */
  topic: string;
  partition: number;
  isSink: boolean;
}

/** The exception a fault raises when it fails the job (absent: the fault does not fail jobs). */
export function failureOf(kind: FaultKind, ctx: FailureContext): FailureText | undefined {
  switch (kind) {
    case 'connector-unreachable':
      return ctx.isSink
        ? {
            exceptionName: 'org.apache.kafka.common.errors.TimeoutException',
            message: `Topic ${ctx.topic} not present in metadata after 60000 ms.`,
            frames: [
              'org.apache.kafka.clients.producer.KafkaProducer.waitOnMetadata(KafkaProducer.java:1175)',
              ...TASK_FRAMES,
            ],
          }
        : {
            exceptionName: 'org.apache.kafka.common.errors.TimeoutException',
            message: `Timeout of 60000ms expired before the position for partition ${ctx.topic}-${ctx.partition} could be determined`,
            frames: [
              'org.apache.flink.connector.kafka.source.reader.KafkaPartitionSplitReader.fetch(KafkaPartitionSplitReader.java:116)',
              ...TASK_FRAMES,
            ],
          };
    case 'heap-oom':
      return {
        exceptionName: 'java.lang.OutOfMemoryError',
        message: 'Java heap space',
        frames: ['java.base/java.util.Arrays.copyOf(Arrays.java:3745)', ...TASK_FRAMES],
      };
    case 'metaspace-oom':
      return {
        exceptionName: 'java.lang.OutOfMemoryError',
        message: METASPACE,
        frames: ['java.base/java.lang.ClassLoader.defineClass1(Native Method)', ...TASK_FRAMES],
      };
    case 'direct-oom':
      return {
        exceptionName: 'java.lang.OutOfMemoryError',
        message: DIRECT,
        frames: ['java.base/java.nio.Bits.reserveMemory(Bits.java:175)', ...TASK_FRAMES],
      };
    case 'container-oom-kill':
    case 'no-slots':
      return {
        exceptionName: 'org.apache.flink.runtime.jobmaster.JobMasterException',
        message: `TaskManager with id ${ctx.taskManagerId} is no longer reachable.`,
        frames: [
          'org.apache.flink.runtime.jobmaster.JobMaster$TaskManagerHeartbeatListener.notifyTargetUnreachable(JobMaster.java:1529)',
        ],
      };
    case 'tm-heartbeat-timeout':
      return {
        exceptionName: 'java.util.concurrent.TimeoutException',
        message: `The heartbeat of TaskManager with id ${ctx.taskManagerId} timed out.`,
        frames: [
          'org.apache.flink.runtime.jobmaster.JobMaster$TaskManagerHeartbeatListener.notifyHeartbeatTimeout(JobMaster.java:1514)',
        ],
      };
    case 'disk-full':
      return {
        exceptionName: 'java.io.IOException',
        message: 'No space left on device',
        frames: [
          'java.base/java.io.FileOutputStream.writeBytes(Native Method)',
          'org.rocksdb.RocksDB.put(RocksDB.java:956)',
          ...TASK_FRAMES,
        ],
      };
    case 'serialization-error':
      return {
        exceptionName: 'com.esotericsoftware.kryo.KryoException',
        message:
          'Encountered unregistered class ID: 1937006964\nSerialization trace:\npayload (com.example.OrderEvent)',
        frames: [
          'com.esotericsoftware.kryo.util.DefaultClassResolver.readClass(DefaultClassResolver.java:137)',
          'org.apache.flink.api.java.typeutils.runtime.kryo.KryoSerializer.deserialize(KryoSerializer.java:394)',
          ...TASK_FRAMES,
        ],
      };
    case 'nic-errors':
      return {
        exceptionName: 'org.apache.flink.runtime.io.network.netty.exception.RemoteTransportException',
        message: `Connection unexpectedly closed by remote task manager '${ctx.peer}'. This might indicate that the remote task manager was lost.`,
        frames: [
          'org.apache.flink.runtime.io.network.netty.CreditBasedPartitionRequestClientHandler.channelInactive(CreditBasedPartitionRequestClientHandler.java:134)',
        ],
      };
    default:
      return undefined;
  }
}

export const NO_RESOURCES: FailureText = {
  exceptionName: 'org.apache.flink.runtime.jobmanager.scheduler.NoResourceAvailableException',
  message: 'Could not acquire the minimum required resources.',
  frames: [
    'org.apache.flink.runtime.scheduler.adaptive.WaitingForResources.resourceTimeout(WaitingForResources.java:171)',
  ],
};

export const CHECKPOINT_EXPIRED = 'Checkpoint expired before completing.';

export const CHECKPOINT_THRESHOLD: FailureText = {
  exceptionName: 'org.apache.flink.util.FlinkRuntimeException',
  message:
    'Exceeded checkpoint tolerable failure threshold. The latest checkpoint failed due to Checkpoint expired before completing., view the Checkpoint History tab or the Job Manager log to find out why continuous checkpoints failed.',
  frames: [
    'org.apache.flink.runtime.checkpoint.CheckpointFailureManager.checkFailureAgainstCounter(CheckpointFailureManager.java:212)',
  ],
};

/** Seconds of RUNNING before a restart-loop fault fails the job again. */
export const FAIL_AFTER_SECONDS: Partial<Record<FaultKind, number>> = {
  'connector-unreachable': 60,
  'heap-oom': 120,
  'metaspace-oom': 30,
  'direct-oom': 90,
  'serialization-error': 20,
  'disk-full': 45,
};

export function stacktraceOf(f: FailureText): string {
  return `${f.exceptionName}: ${f.message}\n${f.frames.map(fr => `\tat ${fr}`).join('\n')}`;
}
