export {
  aggOfValues,
  collectClusterMetrics,
  JOB_METRICS,
  jobFamilyQuery,
  jobSelector,
  reporterFiltered,
  TASK_FAMILIES,
  taskFamilyQuery,
  TM_METRICS,
  tmFamilyQuery,
  type ClusterMetrics,
  type JobPartial,
  type TaskFamily,
} from './bulk.js';
export {
  BulkCollector,
  type BulkCollectorOptions,
  type BulkCollectorStats,
  type CollectorLog,
} from './bulk-collector.js';
export { parseSampleValue, PrometheusClient, type PrometheusClientOptions, type Sample } from './client.js';
export { isPrometheusError, PrometheusError, type PrometheusErrorCode } from './errors.js';
