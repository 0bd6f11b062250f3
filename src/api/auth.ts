import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { z } from 'zod';
import { registerSecret } from '../telemetry/logger.js';
import { ApiConfigError, forbidden, unauthorized } from './errors.js';

/**
 * Bearer-token access (ARCHITECTURE §3): viewers read, editors approve/reject and pause jobs or
 * clusters, admins also pause the whole fleet. Reads are anonymous only while no tokens are
 * configured and the API listens on loopback; writes always need a token.
 */
export { ROLES, type Role } from '../config/schema.js';
import { TokenSpecSchema, type Role, type TokenSpec } from '../config/schema.js';

/** What a route needs: `public` (probes, the dashboard's static files), or at least a role. */
export type Access = 'public' | Role;

const RANK: Readonly<Record<Role, number>> = { viewer: 0, editor: 1, admin: 2 };

export function roleAllows(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

export { TokenSpecSchema, type TokenSpec } from '../config/schema.js';

/** A token ready for checking: only its digest is kept. */
export interface ApiToken {
  name: string;
  role: Role;
  sha256: Buffer;
}

export function hashToken(raw: string): Buffer {
  return createHash('sha256').update(raw, 'utf8').digest();
}

/** Shortest token accepted from a file or the environment. */
const MIN_TOKEN_LENGTH = 16;

/**
 * Turns token specs into digests. Raw tokens read from files or the environment are registered
 * as secrets, so they are redacted from every log line even if one leaks into an error text.
 */
export async function resolveTokens(
  specs: readonly TokenSpec[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<ApiToken[]> {
  const out: ApiToken[] = [];
  for (const spec of specs) {
    const parsed = TokenSpecSchema.safeParse(spec);
    if (!parsed.success) {
      throw new ApiConfigError(
        'API_TOKENS_INVALID',
        `api token ${spec.name}: ${z.prettifyError(parsed.error)}`,
      );
    }
    const s = parsed.data;
    if (s.sha256 !== undefined) {
      out.push({ name: s.name, role: s.role, sha256: Buffer.from(s.sha256, 'hex') });
      continue;
    }
    const raw =
      s.file !== undefined ? await readTokenFile(s.name, s.file) : readTokenEnv(s.name, s.env ?? '', env);
    if (raw.length < MIN_TOKEN_LENGTH) {
      throw new ApiConfigError(
        'API_TOKENS_INVALID',
        `api token ${s.name}: shorter than ${MIN_TOKEN_LENGTH} characters`,
      );
    }
    registerSecret(raw);
    out.push({ name: s.name, role: s.role, sha256: hashToken(raw) });
  }
  return out;
}

async function readTokenFile(name: string, file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new ApiConfigError('API_TOKENS_INVALID', `api token ${name}: cannot read ${file}`, { cause: err });
  }
}

function readTokenEnv(
  name: string,
  variable: string,
  env: Readonly<Record<string, string | undefined>>,
): string {
  const raw = env[variable]?.trim();
  if (raw === undefined || raw === '') {
    throw new ApiConfigError(
      'API_TOKENS_INVALID',
      `api token ${name}: environment variable ${variable} is empty`,
    );
  }
  return raw;
}

/** 127.0.0.0/8, ::1 and `localhost`. `0.0.0.0` and `::` listen everywhere: not loopback. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h.startsWith('::ffff:127.');
  return false;
}

/** Who is asking: a token holder, or nobody (anonymous). */
export type Principal = { kind: 'token'; name: string; role: Role } | { kind: 'anonymous' };

export class Authenticator {
  /** Anonymous reads: no tokens configured and listening on loopback only. */
  readonly anonymousReads: boolean;

  constructor(
    private readonly tokens: readonly ApiToken[],
    host: string,
  ) {
    const loopback = isLoopbackHost(host);
    if (tokens.length === 0 && !loopback) {
      throw new ApiConfigError(
        'API_INSECURE_BIND',
        `the API would listen on ${host} without tokens: anyone who can reach it could read every job. ` +
          'Configure api tokens, or listen on 127.0.0.1.',
      );
    }
    this.anonymousReads = tokens.length === 0 && loopback;
  }

  /** Finds the token's holder. Every configured digest is compared, in constant time. */
  identify(authorization: string | undefined): Principal {
    if (authorization === undefined) return { kind: 'anonymous' };
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m?.[1]) throw unauthorized('the Authorization header must be "Bearer <token>"');
    const digest = hashToken(m[1]);
    let found: ApiToken | undefined;
    for (const t of this.tokens) {
      if (timingSafeEqual(t.sha256, digest) && found === undefined) found = t;
    }
    if (!found) throw unauthorized('unknown token');
    return { kind: 'token', name: found.name, role: found.role };
  }

  /** Throws 401 or 403 unless the principal may use a route with this access. */
  authorize(principal: Principal, access: Access): void {
    if (access === 'public') return;
    if (principal.kind === 'anonymous') {
      if (access === 'viewer' && this.anonymousReads) return;
      throw unauthorized(
        access === 'viewer' ? 'a bearer token is required' : `a bearer token with role ${access} is required`,
      );
    }
    if (!roleAllows(principal.role, access)) {
      throw forbidden(`role ${principal.role} may not do this; it needs ${access}`);
    }
  }

  /** The role the dashboard should act as: a token's, `viewer` for anonymous reads, else none. */
  effectiveRole(principal: Principal): Role | null {
    if (principal.kind === 'token') return principal.role;
    return this.anonymousReads ? 'viewer' : null;
  }
}
