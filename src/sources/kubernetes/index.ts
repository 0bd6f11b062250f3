export { customObjectsApi, describeK8sError, httpStatusOf, loadKubeConfig, withTimeout } from './client.js';
export type { KubernetesConfig } from './client.js';
export { Reflector, GoneError, type ReflectorOptions } from './reflector.js';
export {
  FLINK_GROUP,
  FLINK_VERSION,
  OVERRIDES_KEY,
  PLURAL,
  REST_URL_ANNOTATION,
  InvalidResourceError,
  describeRaw,
  formatOverrides,
  nestedConfigKeys,
  parseOverrides,
  parseResource,
  type FlinkResource,
  type FlinkResourceKind,
} from './resources.js';
