import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Access, Principal } from './auth.js';
import { parseOr400 } from './query.js';

/**
 * One route, declared once: the server registers it, checks its access, parses its inputs with
 * its zod schemas, and the OpenAPI document is generated from the same declaration — so the
 * document cannot miss a route and the auth matrix test can walk them all.
 */
export type Method = 'GET' | 'POST' | 'DELETE';

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteInput<Q, P, B> {
  query: Q;
  params: P;
  body: B;
  principal: Principal;
  reply: FastifyReply;
}

export interface RouteSpec<
  Q extends z.ZodType | undefined,
  P extends z.ZodType | undefined,
  B extends z.ZodType | undefined,
> {
  method: Method;
  /** Fastify path: `/api/v1/jobs/:id`. */
  path: string;
  access: Access;
  summary: string;
  tag: 'api' | 'ops' | 'dashboard';
  query?: Q;
  params?: P;
  body?: B;
  /** Status → description, for the OpenAPI document. */
  responses: Readonly<Record<number, string>>;
  /** Media type of a 200 that is not JSON. */
  produces?: string;
  handler: (input: RouteInput<Out<Q>, Out<P>, Out<B>>) => Promise<unknown>;
}

/** A route with its input types erased: what the server and the OpenAPI generator walk. */
export interface Route {
  method: Method;
  path: string;
  access: Access;
  summary: string;
  tag: 'api' | 'ops' | 'dashboard';
  query?: z.ZodType;
  params?: z.ZodType;
  body?: z.ZodType;
  responses: Readonly<Record<number, string>>;
  produces?: string;
  run(req: FastifyRequest, reply: FastifyReply, principal: Principal): Promise<unknown>;
}

export function route<
  Q extends z.ZodType | undefined = undefined,
  P extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(spec: RouteSpec<Q, P, B>): Route {
  const parse = <S extends z.ZodType | undefined>(schema: S, input: unknown, what: string): Out<S> =>
    (schema === undefined ? undefined : parseOr400(schema, input, what)) as Out<S>;
  const { handler, ...rest } = spec;
  return {
    ...rest,
    run: (req, reply, principal) =>
      handler({
        query: parse(spec.query as Q, req.query, 'query'),
        params: parse(spec.params as P, req.params, 'path'),
        body: parse(spec.body as B, req.body, 'body'),
        principal,
        reply,
      }),
  };
}
