import { z } from 'zod';

/**
 * `logs`: JobManager and TaskManager logs as a signal. Each job's logs are read once per cycle
 * (shared by the jobs of one JobManager), parsed in Flink's log4j layout and counted per class of
 * `rules/log-patterns.json` into the `job.logs.<class>.*` facts. Bounded in bytes per cycle and in
 * memory; a log that cannot be read leaves the facts absent (unknown), never zero.
 */

const KIB = 1024;
const MIB = 1024 * 1024;

const bytes = (def: number, description: string) =>
  z
    .int()
    .min(4 * KIB)
    .max(1024 * MIB)
    .default(def)
    .describe(description);

const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

export function logsSection() {
  return z
    .strictObject({
      enabled: z
        .boolean()
        .default(true)
        .describe('Read logs and turn them into job.logs.* facts (each source below can be switched off).'),
      minLevel: z
        .enum(LOG_LEVELS)
        .default('INFO')
        .describe('Least severe level classified (Flink logs heartbeat timeouts at INFO).'),
      rest: z
        .strictObject({
          enabled: z
            .boolean()
            .default(true)
            .describe(
              "Read the JobManager's and TaskManagers' log files through the JobManager REST API (/jobmanager/logs, /taskmanagers/:id/logs); for Kubernetes jobs only when logs.kubernetes is off.",
            ),
          bytesPerCycle: bytes(
            256 * KIB,
            'Bytes of new log text kept per cycle per JobManager, over all its files; a larger backlog is read over the next cycles or skipped (counted).',
          ),
          maxResponseBytes: bytes(
            32 * MIB,
            'Flink serves a log file whole (no Range requests): a file whose new bytes lie further than this from its start is not read (skipped, counted) and a read is aborted past it.',
          ),
          glob: z
            .string()
            .min(1)
            .default('*.log')
            .describe(
              'File names read (glob: * and ?); rotated files (<name>.1) are read only to finish a rotation.',
            ),
          taskManagers: z.boolean().default(true).describe("Also read the TaskManagers' logs."),
          maxTaskManagers: z
            .int()
            .min(0)
            .max(10_000)
            .default(64)
            .describe('Most TaskManagers whose logs are read per cycle (a larger cluster is read in turns).'),
        })
        .prefault({}),
      kubernetes: z
        .strictObject({
          enabled: z
            .boolean()
            .default(false)
            .describe(
              "Read a FlinkDeployment's JobManager and TaskManager pod logs (pods labelled app=<name>, component=jobmanager|taskmanager) instead of its REST log files; needs get on pods/log.",
            ),
          container: z
            .string()
            .min(1)
            .default('flink-main-container')
            .describe('Container whose log is read.'),
          bytesPerCycle: bytes(
            256 * KIB,
            'Bytes of pod log kept per cycle per FlinkDeployment (limitBytes).',
          ),
          maxPods: z
            .int()
            .min(1)
            .max(10_000)
            .default(64)
            .describe('Most pods read per cycle per FlinkDeployment.'),
        })
        .prefault({}),
      files: z
        .array(
          z.strictObject({
            cluster: z
              .string()
              .min(1)
              .describe(
                'Cluster label of the jobs these files belong to (flink.clusters[].label or kubernetes.cluster).',
              ),
            dir: z.string().min(1).describe('Directory of Flink log files (e.g. a mounted log volume).'),
            glob: z.string().min(1).default('*.log').describe('File names read (glob: * and ?).'),
            bytesPerCycle: bytes(MIB, 'Bytes read per cycle over all files of the directory.'),
          }),
        )
        .default([])
        .describe('Directories of log files on this machine, tailed across rotation and truncation.'),
      maxLineLength: z
        .int()
        .min(256)
        .max(1024 * KIB)
        .default(8192)
        .describe('Longer log lines are cut (memory bound of a line).'),
      maxEventLines: z
        .int()
        .min(1)
        .max(10_000)
        .default(200)
        .describe('Lines kept per event (a stack trace beyond it is cut).'),
    })
    .prefault({});
}
