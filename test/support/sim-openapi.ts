import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/**
 * A small OpenAPI 3.0 response checker for the contract tests: types, required fields, enums,
 * patterns, unknown properties, $ref, allOf and discriminators. It applies the known differences
 * between Flink's generated spec and its real JSON (shared/reference/README.md):
 * - metric endpoints return bare arrays, not `{metrics:[…]}` / `{}`;
 * - JobConfigInfo is `jid`/`name`/`execution-config` on the wire;
 * - Jackson writes absent objects as `null`;
 * - TaskManager ids are `<host>:<port>-<hex>`, not 32-hex (ResourceID);
 * - AbstractID-typed fields (SlotSharingGroupId, ApplicationID) are serialised as hex strings.
 */

type Schema = Record<string, unknown>;

export const REFERENCE_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../shared/reference');

export function referenceSpec(version: 'flink-1.20' | 'flink-2.3'): OpenApi | undefined {
  const file = join(REFERENCE_DIR, version, 'rest_v1_dispatcher.yml');
  return existsSync(file) ? new OpenApi(parse(readFileSync(file, 'utf8')) as Schema) : undefined;
}

const HEX_STRING_TYPES = new Set(['SlotSharingGroupId', 'ApplicationID']);
const METRIC_ARRAY_TYPES = new Set(['MetricCollectionResponseBody']);
const AGGREGATED_TYPES = new Set(['AggregatedMetricsResponseBody']);

function isObject(x: unknown): x is Schema {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export class OpenApi {
  constructor(readonly doc: Schema) {}

  get paths(): Schema {
    return isObject(this.doc.paths) ? this.doc.paths : {};
  }

  private component(name: string): Schema {
    const comps =
      isObject(this.doc.components) && isObject(this.doc.components.schemas)
        ? this.doc.components.schemas
        : {};
    const s = comps[name];
    if (!isObject(s)) throw new Error(`no schema ${name}`);
    return s;
  }

  /** The 200 response schema of `GET|PUT <path>` (OpenAPI path form, `{jobid}`). */
  responseSchema(method: string, path: string): Schema | undefined {
    const p = this.paths[path];
    const op = isObject(p) ? p[method.toLowerCase()] : undefined;
    const ok = isObject(op) && isObject(op.responses) ? op.responses['200'] : undefined;
    const content = isObject(ok) && isObject(ok.content) ? ok.content['application/json'] : undefined;
    return isObject(content) && isObject(content.schema) ? content.schema : undefined;
  }

  /** Problems of `value` against `schema`, as `path: message` lines (empty = conforms). */
  check(value: unknown, schema: Schema, at = '$'): string[] {
    const ref =
      typeof schema.$ref === 'string' ? schema.$ref.replace('#/components/schemas/', '') : undefined;
    if (ref !== undefined) {
      if (value === null) return [];
      if (HEX_STRING_TYPES.has(ref))
        return typeof value === 'string' && /^[0-9a-f]{32}$/.test(value) ? [] : [`${at}: expected a hex id`];
      if (ref === 'ResourceID') return typeof value === 'string' ? [] : [`${at}: expected a string id`];
      if (METRIC_ARRAY_TYPES.has(ref))
        return this.checkArray(value, at, item =>
          this.check(item, this.component('Metric'), item === value ? at : at),
        );
      if (AGGREGATED_TYPES.has(ref)) return this.checkAggregated(value, at);
      if (ref === 'JobConfigInfo') return this.checkJobConfig(value, at);
      const target = this.component(ref);
      const disc = isObject(target.discriminator) ? target.discriminator : undefined;
      if (disc !== undefined && isObject(value) && isObject(disc.mapping)) {
        const key = value[String(disc.propertyName)];
        const mapped = typeof key === 'string' ? disc.mapping[key] : undefined;
        if (typeof mapped === 'string') {
          const name = mapped.replace('#/components/schemas/', '');
          if (name !== ref) return this.check(value, { $ref: mapped }, at);
        }
      }
      return this.check(value, target, at);
    }
    if (value === null) return [];
    if (Array.isArray(schema.allOf)) return this.checkObject(value, this.merged(schema), at);
    switch (schema.type) {
      case 'object':
        return this.checkObject(value, schema, at);
      case 'array':
        return this.checkArray(value, at, (item, i) =>
          this.check(item, isObject(schema.items) ? schema.items : {}, `${at}[${i}]`),
        );
      case 'string':
        if (typeof value !== 'string') return [`${at}: expected string, got ${typeof value}`];
        if (Array.isArray(schema.enum) && !schema.enum.includes(value))
          return [`${at}: ${value} not in enum`];
        if (typeof schema.pattern === 'string' && !new RegExp(`^${schema.pattern}$`).test(value))
          return [`${at}: ${value} does not match ${schema.pattern}`];
        return [];
      case 'integer':
        return Number.isInteger(value) ? [] : [`${at}: expected integer, got ${JSON.stringify(value)}`];
      case 'number':
        return typeof value === 'number' ? [] : [`${at}: expected number`];
      case 'boolean':
        return typeof value === 'boolean' ? [] : [`${at}: expected boolean`];
      default:
        return [];
    }
  }

  private merged(schema: Schema): Schema {
    const props: Schema = {};
    const required: string[] = [];
    for (const part of schema.allOf as unknown[]) {
      if (!isObject(part)) continue;
      const s =
        typeof part.$ref === 'string' ? this.component(part.$ref.replace('#/components/schemas/', '')) : part;
      Object.assign(props, isObject(s.properties) ? s.properties : {});
      if (Array.isArray(s.required)) required.push(...(s.required as string[]));
    }
    return { type: 'object', properties: props, required };
  }

  private checkObject(value: unknown, schema: Schema, at: string): string[] {
    if (!isObject(value)) return [`${at}: expected object`];
    const props = isObject(schema.properties) ? schema.properties : undefined;
    const out: string[] = [];
    for (const r of Array.isArray(schema.required) ? (schema.required as string[]) : [])
      if (!(r in value)) out.push(`${at}: missing ${r}`);
    for (const [k, v] of Object.entries(value)) {
      const p = props?.[k];
      if (isObject(p)) out.push(...this.check(v, p, `${at}.${k}`));
      else if (isObject(schema.additionalProperties))
        out.push(...this.check(v, schema.additionalProperties, `${at}.${k}`));
      else if (props !== undefined && !wireOnly(at, k)) out.push(`${at}: unknown property ${k}`);
    }
    return out;
  }

  private checkArray(value: unknown, at: string, each: (item: unknown, i: number) => string[]): string[] {
    if (!Array.isArray(value)) return [`${at}: expected array`];
    return value.flatMap((item, i) => each(item, i));
  }

  private checkAggregated(value: unknown, at: string): string[] {
    return this.checkArray(value, at, (item, i) => {
      if (!isObject(item) || typeof item.id !== 'string') return [`${at}[${i}]: expected {id,…}`];
      return Object.entries(item)
        .filter(([k]) => k !== 'id')
        .flatMap(([k, v]) =>
          ['min', 'max', 'avg', 'sum', 'skew'].includes(k) && typeof v === 'number'
            ? []
            : [`${at}[${i}].${k}: unexpected`],
        );
    });
  }

  private checkJobConfig(value: unknown, at: string): string[] {
    if (!isObject(value)) return [`${at}: expected object`];
    const renamed = { jobId: value.jid, jobName: value.name, executionConfigInfo: value['execution-config'] };
    const wire = Object.fromEntries(Object.entries(renamed).filter(([, v]) => v !== undefined));
    const extra = Object.keys(value).filter(k => !['jid', 'name', 'execution-config'].includes(k));
    return [
      ...extra.map(k => `${at}: unknown property ${k}`),
      ...this.check(wire, this.component('JobConfigInfo'), at),
    ];
  }
}

/**
 * Properties real Flink sends that its generated spec leaves out (seen in the 1.20.3 and 2.3.0
 * recordings, test/fixtures/flink-<version>/recording.json): the deprecated `start_time` duplicate of
 * `start-time` on every subtask of /jobs/:jobid/vertices/:vertexid.
 */
function wireOnly(at: string, property: string): boolean {
  return property === 'start_time' && /\.subtasks\[\d+\]$/.test(at);
}
