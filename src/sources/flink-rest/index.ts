export { RequestBudget, type BudgetOptions } from './budget.js';
export {
  FlinkRestClient,
  type Aggregation,
  type ClientStats,
  type FlinkRestClientOptions,
} from './client.js';
export { listJobs, type ListJobsOptions } from './discovery.js';
export { FlinkRestError, isFlinkRestError, type FlinkRestErrorCode } from './errors.js';
export {
  getResourceRequirements,
  putResourceRequirements,
  withParallelism,
  type ResourceRequirements,
} from './resource-requirements.js';
export { collectSnapshot, selectMetricIds, stableTaskManagerId } from './snapshot.js';
export type { LogFileWire } from './schemas.js';
export {
  BodyTooLargeError,
  httpDispatcher,
  type ByteSlice,
  type SliceResult,
  type Dispatcher,
  type TransportRequest,
  type TransportResponse,
} from './transport.js';
export { featuresFor, type FlinkFeatures } from './version.js';
