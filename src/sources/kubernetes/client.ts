import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../../config/schema.js';

export type KubernetesConfig = Config['kubernetes'];

/** Loads credentials as configured: a kubeconfig file, the pod's service account, or the defaults. */
export function loadKubeConfig(
  cfg: Pick<KubernetesConfig, 'kubeconfig' | 'inCluster' | 'context'>,
): KubeConfig {
  const kc = new KubeConfig();
  if (cfg.inCluster) kc.loadFromCluster();
  else if (cfg.kubeconfig !== undefined) kc.loadFromFile(cfg.kubeconfig);
  else kc.loadFromDefault();
  if (cfg.context !== undefined) kc.setCurrentContext(cfg.context);
  if (!kc.getCurrentCluster()) throw new Error('kubernetes: no current cluster in the kubeconfig');
  return kc;
}

export function customObjectsApi(kc: KubeConfig): CustomObjectsApi {
  return kc.makeApiClient(CustomObjectsApi);
}

/** HTTP status of a client-node error (ApiException `.code`, Watch errors `.statusCode`). */
export function httpStatusOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown } | null;
  if (typeof e?.code === 'number') return e.code;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return undefined;
}

/** A short, log-safe description of a client-node error: status and the API's reason, never headers. */
export function describeK8sError(err: unknown): string {
  const status = httpStatusOf(err);
  if (status === undefined) return (err as Error | null)?.message ?? String(err);
  const body = (err as { body?: unknown }).body;
  let message: string | undefined;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === 'string') message = parsed.message;
    } catch {
      message = undefined;
    }
  } else if (typeof (body as { message?: unknown } | null)?.message === 'string') {
    message = (body as { message: string }).message;
  }
  return `HTTP ${status}${message === undefined ? '' : `: ${message}`}`;
}

/** Runs a request with a deadline (client-node 1.x has no per-request timeout of its own). */
export async function withTimeout<T>(ms: number, what: string, run: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`kubernetes: ${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([run(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
