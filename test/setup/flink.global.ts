import { stopAllRuns } from '../support/flink-local.js';

/**
 * E2E global setup: clears clusters a previous, killed run may have left, and after the run stops
 * every cluster under the e2e run directory, whatever happened to the test workers.
 */
export function setup(): () => void {
  stopAllRuns();
  return () => stopAllRuns();
}
