import type { Clock } from '../domain/clock.js';
import { ClusterModel } from './cluster.js';
import { MetricStore } from './metric-store.js';
import { registerClusterRoutes } from './rest/cluster-routes.js';
import type { SurfaceContext } from './rest/context.js';
import type { SimRequest, SimResponse } from './rest/http.js';
import { registerJobRoutes } from './rest/job-routes.js';
import { registerMetricRoutes } from './rest/metric-routes.js';
import { Router } from './rest/router.js';
import type { Scenario } from './scenario.js';

/**
 * One simulated Flink cluster behind its REST API: the model, its metric store and the routes.
 * `handle()` advances the model to the clock's time first, so the same surface runs under a
 * RealClock (HTTP server) and a VirtualClock (in-process, a 3-hour promotion in seconds).
 */
export class FlinkSurface {
  readonly cluster: ClusterModel;
  readonly store: MetricStore;
  readonly router = new Router();

  constructor(
    readonly scenario: Scenario,
    readonly clock: Clock,
  ) {
    this.cluster = new ClusterModel(scenario, clock.now());
    this.store = new MetricStore(this.cluster, scenario.cluster.metricFetchInterval);
    const ctx: SurfaceContext = { cluster: this.cluster, store: this.store, now: () => this.cluster.now() };
    registerClusterRoutes(this.router, ctx);
    registerJobRoutes(this.router, ctx);
    registerMetricRoutes(this.router, ctx);
  }

  /** Moves the model to the clock's time (1 s steps). */
  sync(): void {
    this.cluster.advanceTo(this.clock.now());
  }

  /** True while a `jobmanager-unreachable` fault is active: the server drops connections. */
  reachable(): boolean {
    return this.cluster.jobManagerReachable(this.clock.now());
  }

  handle(req: SimRequest): SimResponse {
    this.sync();
    return this.router.handle(req);
  }
}
