import type { TaskManagerState } from '../cluster.js';
import type { SimComponentLogs as SimLogsOf } from '../logs.js';
import type { MetricMap } from '../metric-store.js';
import { type SurfaceContext } from './context.js';
import { AGGREGATIONS, aggregate, metricCollection, requestedIds, type Aggregation } from './format.js';
import { errors, json, type SimResponse } from './http.js';
import type { Router } from './router.js';

const MIB = 1024 ** 2;

function memoryConfiguration(heap: number): Record<string, number> {
  return {
    frameworkHeap: 128 * MIB,
    taskHeap: heap - 128 * MIB,
    frameworkOffHeap: 128 * MIB,
    taskOffHeap: 0,
    networkMemory: 128 * MIB,
    managedMemory: 512 * MIB,
    jvmMetaspace: 256 * MIB,
    jvmOverhead: 192 * MIB,
    totalFlinkMemory: heap + 768 * MIB,
    totalProcessMemory: heap + 1216 * MIB,
  };
}

function resource(cpu: number, heapMb: number): Record<string, unknown> {
  return {
    cpuCores: cpu,
    taskHeapMemory: heapMb,
    taskOffHeapMemory: 0,
    managedMemory: 512,
    networkMemory: 128,
    extendedResources: {},
  };
}

function taskManagerInfo(ctx: SurfaceContext, tm: TaskManagerState): Record<string, unknown> {
  const heap = ctx.cluster.scenario.cluster.tmHeapBytes;
  const used = ctx.cluster.jobs.reduce((a, j) => a + j.slots.filter(s => s === tm.index).length, 0);
  const free = Math.max(0, tm.slots - used);
  const heartbeatAge =
    tm.unresponsiveSince === undefined ? 2_000 + (ctx.now() % 8_000) : ctx.now() - tm.unresponsiveSince;
  const info: Record<string, unknown> = {
    id: tm.resourceId,
    path: `pekko.tcp://flink@${tm.host}:${tm.port}/user/rpc/taskmanager_0`,
    dataPort: tm.dataPort,
    jmxPort: -1,
    timeSinceLastHeartbeat: ctx.now() - heartbeatAge,
    slotsNumber: tm.slots,
    freeSlots: free,
    totalResource: resource(tm.slots, Math.round((heap - 128 * MIB) / MIB)),
    freeResource: resource(free, Math.round(((heap - 128 * MIB) / MIB) * (free / tm.slots))),
    hardware: {
      cpuCores: tm.slots,
      physicalMemory: 32 * 1024 * MIB,
      freeMemory: heap,
      managedMemory: 512 * MIB,
    },
    memoryConfiguration: memoryConfiguration(heap),
  };
  // `blocked` is only sent for a blocked TaskManager (NON_DEFAULT); the simulator blocks none.
  if (ctx.cluster.features.rescalesApi) info.assignedTasks = used * ctx.cluster.jobs.length;
  return info;
}

function aggsOf(ctx: SurfaceContext, query: URLSearchParams): readonly Aggregation[] | SimResponse {
  const text = query.get('agg');
  if (text === null)
    return ctx.cluster.features.aggSkew ? AGGREGATIONS : AGGREGATIONS.filter(a => a !== 'skew');
  const out: Aggregation[] = [];
  for (const raw of text.split(',')) {
    const a = raw.trim().toLowerCase();
    const known =
      (AGGREGATIONS as readonly string[]).includes(a) && (a !== 'skew' || ctx.cluster.features.aggSkew);
    if (!known) return errors(400, `Cannot resolve query parameter (agg) from value "${raw}".`);
    out.push(a as Aggregation);
  }
  return out;
}

/** Aggregated metrics over components: list mode without `get`, else `[{id,min,max,…}]`. */
export function aggregatedResponse(
  ctx: SurfaceContext,
  maps: readonly MetricMap[],
  query: URLSearchParams,
): SimResponse {
  const ids = requestedIds(query);
  if (ids === undefined) {
    const all = new Set<string>();
    for (const m of maps) for (const id of m.keys()) all.add(id);
    return json([...all].map(id => ({ id })));
  }
  const aggs = aggsOf(ctx, query);
  if (!Array.isArray(aggs)) return aggs as SimResponse;
  const out: unknown[] = [];
  for (const id of ids) {
    const values: number[] = [];
    for (const m of maps) {
      const v = m.get(id);
      if (typeof v === 'number') values.push(v);
    }
    if (values.length > 0) out.push({ id, ...aggregate(values, aggs) });
  }
  return json(out);
}

export function registerClusterRoutes(router: Router, ctx: SurfaceContext): void {
  const { cluster } = ctx;
  const f = cluster.features;
  router.add('GET', '/config', () =>
    json({
      'refresh-interval': 3000,
      'timezone-name': 'Coordinated Universal Time',
      'timezone-offset': 0,
      'flink-version': f.versionString,
      'flink-revision': `${f.versionString.replace(/\./g, '')}abcd @ 2026-01-01T00:00:00+01:00`,
      features: { 'web-submit': false, 'web-cancel': false, 'web-rescale': false, 'web-history': false },
    }),
  );
  router.add('GET', '/overview', () => {
    const total = cluster.slotsTotal();
    return json({
      taskmanagers: cluster.taskManagers.filter(t => t.alive).length,
      'slots-total': total,
      'slots-available': Math.max(0, total - cluster.slotsUsed()),
      // `taskmanagers-blocked` / `slots-free-and-blocked` are left out while 0, as Flink does.
      'jobs-running': cluster.jobs.length,
      'jobs-finished': 0,
      'jobs-cancelled': 0,
      'jobs-failed': 0,
      'flink-version': f.versionString,
      'flink-commit': 'abcd123',
    });
  });
  router.add('GET', '/jobmanager/config', () =>
    json([
      { key: 'jobmanager.scheduler', value: 'adaptive' },
      { key: 'metrics.fetcher.update-interval', value: `${cluster.scenario.cluster.metricFetchInterval}ms` },
      {
        key: 'jobmanager.adaptive-scheduler.resource-stabilization-timeout',
        value: `${cluster.scenario.cluster.stabilizationTimeout}ms`,
      },
      { key: 'taskmanager.numberOfTaskSlots', value: String(cluster.scenario.cluster.slotsPerTaskManager) },
      { key: 'rest.port', value: '8081' },
      { key: 'web.exception-history-size', value: '16' },
    ]),
  );
  router.add('GET', '/jobmanager/metrics', req =>
    json(metricCollection(ctx.store.read(ctx.now()).jobManager, req.query)),
  );
  const text = (body: string | undefined, name: string): SimResponse =>
    body === undefined
      ? errors(404, `The file ${name} does not exist.`)
      : { status: 200, body, contentType: 'text/plain' };
  const jm = cluster.logs.jobManager;
  router.add('GET', '/jobmanager/logs', () => json({ logs: jm.list() }));
  router.add('GET', '/jobmanager/log', () => text(jm.read(jm.log.name), jm.log.name));
  router.add('GET', '/jobmanager/stdout', () => text(jm.read(jm.outName), jm.outName));
  router.add('GET', '/jobmanager/logs/:filename', (_req, p) =>
    text(jm.read(p.filename ?? ''), p.filename ?? ''),
  );
  router.add('GET', '/taskmanagers', () =>
    json({ taskmanagers: cluster.taskManagers.filter(t => t.alive).map(tm => taskManagerInfo(ctx, tm)) }),
  );
  router.add('GET', '/taskmanagers/metrics', req => {
    const view = ctx.store.read(ctx.now());
    const filter = req.query.get('taskmanagers');
    const ids = filter === null ? [...view.taskManagers.keys()] : filter.split(',');
    const maps = ids.map(id => view.taskManagers.get(id)).filter((m): m is MetricMap => m !== undefined);
    return aggregatedResponse(ctx, maps, req.query);
  });
  router.add('GET', '/taskmanagers/:taskmanagerid', (_req, p) => {
    const tm = cluster.taskManagers.find(t => t.alive && t.resourceId === p.taskmanagerid);
    if (tm === undefined) return errors(404, 'Could not find TaskManager ' + (p.taskmanagerid ?? ''));
    const m = ctx.store.read(ctx.now()).taskManagers.get(tm.resourceId);
    const num = (id: string): number => {
      const v = m?.get(id);
      return typeof v === 'number' ? Math.round(v) : 0;
    };
    return json({
      ...taskManagerInfo(ctx, tm),
      allocatedSlots: [],
      metrics: {
        heapUsed: num('Status.JVM.Memory.Heap.Used'),
        heapCommitted: num('Status.JVM.Memory.Heap.Committed'),
        heapMax: num('Status.JVM.Memory.Heap.Max'),
        nonHeapUsed: num('Status.JVM.Memory.NonHeap.Used'),
        nonHeapCommitted: num('Status.JVM.Memory.NonHeap.Used'),
        nonHeapMax: -1,
        directCount: num('Status.JVM.Memory.Direct.Count'),
        directUsed: num('Status.JVM.Memory.Direct.MemoryUsed'),
        directMax: num('Status.JVM.Memory.Direct.TotalCapacity'),
        mappedCount: 0,
        mappedUsed: 0,
        mappedMax: 0,
        nettyShuffleMemorySegmentsAvailable: 3000,
        nettyShuffleMemorySegmentsUsed: 1096,
        nettyShuffleMemorySegmentsTotal: 4096,
        nettyShuffleMemoryAvailable: 96 * MIB,
        nettyShuffleMemoryUsed: 32 * MIB,
        nettyShuffleMemoryTotal: 128 * MIB,
        garbageCollectors: [
          {
            name: 'G1_Young_Generation',
            count: num('Status.JVM.GarbageCollector.G1_Young_Generation.Count'),
            time: num('Status.JVM.GarbageCollector.G1_Young_Generation.Time'),
          },
          {
            name: 'G1_Old_Generation',
            count: num('Status.JVM.GarbageCollector.G1_Old_Generation.Count'),
            time: num('Status.JVM.GarbageCollector.G1_Old_Generation.Time'),
          },
        ],
      },
    });
  });
  /** A TaskManager's logs are fetched by the JobManager over RPC: a hung TaskManager times out. */
  const tmLogs = (id: string | undefined): SimLogsOf | SimResponse => {
    const tm = cluster.taskManagers.find(t => t.alive && t.resourceId === id);
    const logs = tm === undefined ? undefined : cluster.logs.taskManager(tm.resourceId);
    if (tm === undefined || logs === undefined)
      return errors(404, 'Could not find TaskManager ' + (id ?? ''));
    if (tm.unresponsiveSince !== undefined)
      return errors(
        500,
        'Internal server error.',
        `<Exception on server side:\njava.util.concurrent.CompletionException: java.util.concurrent.TimeoutException: Invocation of [RemoteRpcInvocation(TaskExecutorGateway.requestLogList(Duration))] at recipient [pekko.tcp://flink@${tm.host}:${tm.port}/user/rpc/taskmanager_0] timed out.\nEnd of exception on server side>`,
      );
    return logs;
  };
  router.add('GET', '/taskmanagers/:taskmanagerid/logs', (_req, p) => {
    const logs = tmLogs(p.taskmanagerid);
    return isSimResponse(logs) ? logs : json({ logs: logs.list() });
  });
  router.add('GET', '/taskmanagers/:taskmanagerid/logs/:filename', (_req, p) => {
    const logs = tmLogs(p.taskmanagerid);
    return isSimResponse(logs) ? logs : text(logs.read(p.filename ?? ''), p.filename ?? '');
  });
  router.add('GET', '/taskmanagers/:taskmanagerid/log', (_req, p) => {
    const logs = tmLogs(p.taskmanagerid);
    return isSimResponse(logs) ? logs : text(logs.read(logs.log.name), logs.log.name);
  });
  router.add('GET', '/taskmanagers/:taskmanagerid/stdout', (_req, p) => {
    const logs = tmLogs(p.taskmanagerid);
    return isSimResponse(logs) ? logs : text(logs.read(logs.outName), logs.outName);
  });
  router.add('GET', '/taskmanagers/:taskmanagerid/metrics', (req, p) => {
    const tm = cluster.taskManagers.find(t => t.alive && t.resourceId === p.taskmanagerid);
    if (tm === undefined) return errors(404, 'Could not find TaskManager ' + (p.taskmanagerid ?? ''));
    return json(metricCollection(ctx.store.read(ctx.now()).taskManagers.get(tm.resourceId), req.query));
  });
}

function isSimResponse(x: unknown): x is SimResponse {
  return typeof x === 'object' && x !== null && 'status' in x && 'body' in x;
}
