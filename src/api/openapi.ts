import { z } from 'zod';
import type { Route } from './route.js';

/**
 * The OpenAPI 3.1 document, generated from the route table: query, path and body parameters
 * from each route's zod schema (`z.toJSONSchema`, input side), access from its declared role.
 */

type JsonSchema = Record<string, unknown>;

function inputSchema(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
}

function parameters(schema: z.ZodType | undefined, where: 'query' | 'path'): JsonSchema[] {
  if (schema === undefined) return [];
  const json = inputSchema(schema);
  const props = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => {
    const { description, ...rest } = s;
    return {
      name,
      in: where,
      required: where === 'path' || (required.has(name) && !('default' in s)),
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    };
  });
}

const ERROR_BODY: JsonSchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: { type: 'string' }, message: { type: 'string' }, details: {} },
};

function operation(r: Route): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  for (const [status, description] of Object.entries(r.responses)) {
    const ok = Number(status) < 400;
    const media = ok ? (r.produces ?? 'application/json') : 'application/json';
    responses[status] = {
      description,
      content: {
        [media]: {
          schema: ok ? (r.produces ? { type: 'string' } : {}) : { $ref: '#/components/schemas/Error' },
        },
      },
    };
  }
  if (r.access !== 'public') responses['429'] = { description: 'Rate limited' };
  return {
    summary: r.summary,
    tags: [r.tag],
    operationId: `${r.method.toLowerCase()}${r.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c?: string) => (c ?? '').toUpperCase())}`,
    'x-required-role': r.access,
    ...(r.access === 'public' ? { security: [] } : {}),
    parameters: [...parameters(r.params, 'path'), ...parameters(r.query, 'query')],
    ...(r.body === undefined
      ? {}
      : {
          requestBody: { required: true, content: { 'application/json': { schema: inputSchema(r.body) } } },
        }),
    responses,
  };
}

/** `/api/v1/jobs/:id` → `/api/v1/jobs/{id}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

export function openApiDocument(routes: readonly Route[], version: string): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const r of routes) {
    const p = openApiPath(r.path);
    paths[p] = { ...paths[p], [r.method.toLowerCase()]: operation(r) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'flink-autopilot API',
      version,
      description:
        'Health reports of watched Flink jobs (HealthReport v1), the action journal, and the daemon’s ' +
        'own probes and metrics. Reads are anonymous only while no tokens are configured and the API ' +
        'listens on loopback; otherwise send `Authorization: Bearer <token>` (roles viewer < editor < admin).',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: ERROR_BODY },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
