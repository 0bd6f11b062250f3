export { ClusterModel } from './cluster.js';
export {
  FAULT_KINDS,
  loadScenario,
  parseScenario,
  scenarioSchema,
  ScenarioError,
  type FaultKind,
  type Scenario,
} from './scenario.js';
export {
  Simulator,
  SimulatorError,
  startSimulator,
  type RawResponse,
  type SimulatorOptions,
} from './server.js';
export { inProcessDispatcher } from './in-process.js';
export { FlinkSurface } from './surface.js';
export { featuresOf, type SimFlinkVersion } from './versions.js';
export type { WireFault, WireFaultInput } from './wire-faults.js';
