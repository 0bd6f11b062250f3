import { z } from 'zod';
import type { Principal } from './auth.js';
import { ControlError, type ApiControls, type PauseScope } from './controls.js';
import { ApiError, forbidden, unauthorized } from './errors.js';
import { route, type Route } from './route.js';

/**
 * Write routes: approve/reject planned actions (editor), pause/resume a job or cluster (editor)
 * or the whole fleet (admin). Each exists only when its control is passed to the server.
 */

const DecisionBody = z.strictObject({ reason: z.string().max(500).optional() });

const ScopeBody = z.discriminatedUnion('scope', [
  z.strictObject({ scope: z.literal('fleet'), reason: z.string().max(500).optional() }),
  z.strictObject({
    scope: z.literal('cluster'),
    target: z.string().min(1),
    reason: z.string().max(500).optional(),
  }),
  z.strictObject({
    scope: z.literal('job'),
    target: z.string().min(1),
    reason: z.string().max(500).optional(),
  }),
]);
type ScopeBody = z.output<typeof ScopeBody>;

const ActionParams = z.strictObject({ id: z.string().min(1).max(200) });

const SilenceBody = z.strictObject({
  matchers: z
    .array(z.strictObject({ name: z.string().min(1), op: z.string().optional(), value: z.string() }))
    .min(1),
  comment: z.string().min(1).max(500),
  startsAt: z.number().int().optional(),
  endsAt: z.number().int(),
});

const ERRORS = { 400: 'Invalid body', 401: 'No or unknown token', 403: 'Role too low' };

function holder(p: Principal): string {
  if (p.kind !== 'token') throw unauthorized('a bearer token is required');
  return p.name;
}

function toScope(b: ScopeBody): PauseScope {
  if (b.scope === 'fleet') return { kind: 'fleet' };
  return b.scope === 'cluster' ? { kind: 'cluster', cluster: b.target } : { kind: 'job', jobKey: b.target };
}

/** Fleet-wide pauses need an admin; a job or a cluster, an editor (checked by the route). */
function checkScopeRole(p: Principal, b: ScopeBody): void {
  if (b.scope === 'fleet' && !(p.kind === 'token' && p.role === 'admin')) {
    throw forbidden('pausing or resuming the whole fleet needs role admin');
  }
}

async function mapControlErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ControlError)
      throw new ApiError(err.kind === 'not_found' ? 404 : 409, err.kind, err.message);
    // The control validates the domain rules (e.g. matcher names); its refusal is a bad request.
    if (err instanceof z.ZodError) throw new ApiError(400, 'bad_request', z.prettifyError(err));
    throw err;
  }
}

export function writeRoutes(controls: ApiControls): Route[] {
  const out: Route[] = [];
  const { actions, pauses, silences } = controls;
  if (actions) {
    for (const verdict of ['approve', 'reject'] as const) {
      out.push(
        route({
          method: 'POST',
          path: `/api/v1/actions/:id/${verdict}`,
          access: 'editor',
          tag: 'api',
          summary: `${verdict === 'approve' ? 'Approve' : 'Reject'} a planned action waiting for approval.`,
          params: ActionParams,
          body: DecisionBody,
          responses: {
            200: '`{id, status}`',
            404: 'No such action',
            409: 'Not waiting for approval',
            ...ERRORS,
          },
          handler: async ({ params, body, principal }) => {
            const by = holder(principal);
            const { status } = await mapControlErrors(() => actions[verdict](params.id, by, body.reason));
            return { id: params.id, status };
          },
        }),
      );
    }
  }
  if (pauses) {
    for (const op of ['pause', 'resume'] as const) {
      out.push(
        route({
          method: 'POST',
          path: `/api/v1/${op}`,
          access: 'editor',
          tag: 'api',
          summary: `${op === 'pause' ? 'Pause' : 'Resume'} actions for a job, a cluster (editor) or the fleet (admin).`,
          body: ScopeBody,
          responses: { 200: '`{scope, target, paused}`', ...ERRORS },
          handler: async ({ body, principal }) => {
            const by = holder(principal);
            checkScopeRole(principal, body);
            const scope = toScope(body);
            await mapControlErrors(() =>
              op === 'pause' ? pauses.pause(scope, by, body.reason) : pauses.resume(scope, by),
            );
            return {
              scope: body.scope,
              target: body.scope === 'fleet' ? null : body.target,
              paused: op === 'pause',
            };
          },
        }),
      );
    }
  }
  if (silences) {
    out.push(
      route({
        method: 'GET',
        path: '/api/v1/silences',
        access: 'viewer',
        tag: 'api',
        summary: 'Silences in force: matchers, author, comment, expiry.',
        responses: { 200: '`{items}`', ...ERRORS },
        handler: async () => ({ items: await silences.list() }),
      }),
      route({
        method: 'POST',
        path: '/api/v1/silences',
        access: 'editor',
        tag: 'api',
        summary:
          'Silence the alerts of matching findings until `endsAt` (epoch ms); they still count in the score.',
        body: SilenceBody,
        responses: { 200: 'The silence', ...ERRORS },
        handler: async ({ body, principal }) =>
          mapControlErrors(() => silences.create(body, holder(principal))),
      }),
      route({
        method: 'DELETE',
        path: '/api/v1/silences/:id',
        access: 'editor',
        tag: 'api',
        summary: 'Expire a silence now.',
        params: ActionParams,
        responses: { 200: '`{id, deleted}`', 404: 'No such silence', ...ERRORS },
        handler: async ({ params, principal }) => {
          await mapControlErrors(() => silences.remove(params.id, holder(principal)));
          return { id: params.id, deleted: true };
        },
      }),
    );
  }
  return out;
}
