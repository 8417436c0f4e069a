/**
 * Principals, API keys, ACLs and browser tokens. Who may call what is in
 * src/http/route-permissions.ts (superusers for principals and ACLs; a principal for its own
 * keys; anyone authenticated for whoami and tokens). A key is shown once, in the answer that
 * creates it; it is never stored or logged.
 */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { WebkaError } from '../../errors.js';
import { parseGrants } from '../../auth/tokens.js';
import type { Resource, ResourcePattern } from '../../auth/types.js';
import { TOKEN_COOKIE } from '../plugins/authenticate.js';
import { AUTH_CONFIRM_MS } from '../plugins/security.js';

const err = { $ref: 'Error#' };
const Pattern = Type.Object({
  type: Type.Union([Type.Literal('cluster'), Type.Literal('topic'), Type.Literal('group')]),
  name: Type.String({ minLength: 1, maxLength: 249, description: 'A name, a prefix (patternType prefixed) or "*"' }),
  patternType: Type.Optional(Type.Union([Type.Literal('literal'), Type.Literal('prefixed')])),
  cluster: Type.Optional(Type.String({ minLength: 1, maxLength: 249, description: 'For topics and groups: a cluster name or "*" (default)' })),
});
const Operations = Type.Array(Type.Union(['read', 'write', 'create', 'delete', 'alter', 'describe', 'admin'].map((o) => Type.Literal(o))), { minItems: 1, maxItems: 7 });
const PrincipalParams = Type.Object({ principal: Type.String({ maxLength: 128 }) });

/** A literal pattern names one resource, which the minter must hold the rights to itself. */
function single(p: ResourcePattern): Resource | null {
  if (p.patternType !== 'literal' || p.name === '*') return null;
  if (p.type === 'cluster') return { type: 'cluster', name: p.name };
  if (p.cluster === '*') return null;
  return { type: p.type, cluster: p.cluster, name: p.name };
}

export async function securityRoutes(app: FastifyInstance): Promise<void> {
  const { store, tokens, authorize, isAdmin } = app.security;
  const tag = { tags: ['security'] };

  app.get('/whoami', { schema: { ...tag, summary: 'The caller\'s principal, the ACLs that apply to it, and a token\'s grants and expiry' } }, async (request) => {
    const p = request.principal;
    // Its own ACLs and the ones for every principal ("*"): what a client needs to offer only
    // what the caller may do (a token's rights are these intersected with its grants).
    const acls = p.via === 'anonymous' ? [] : [...store.listAcls({ principal: p.name }), ...store.listAcls({ principal: '*' })];
    return { principal: p.name, via: p.via, superuser: p.superuser, acls, ...(p.grants ? { grants: p.grants } : {}), ...(p.expiresAt ? { expiresAt: p.expiresAt } : {}) };
  });

  app.get('/principals', { schema: { ...tag, summary: 'List principals (superusers only)' } }, async () => ({ principals: store.listPrincipals() }));

  app.post<{ Body: { name: string; kind?: string; superuser?: boolean; description?: string; createKey?: boolean } }>(
    '/principals',
    {
      schema: {
        ...tag,
        summary: 'Create a user or service account; with createKey, also its first API key (shown once)',
        body: Type.Object({
          name: Type.String({ maxLength: 128 }),
          kind: Type.Optional(Type.Union([Type.Literal('user'), Type.Literal('service')])),
          superuser: Type.Optional(Type.Boolean()),
          description: Type.Optional(Type.String({ maxLength: 1024 })),
          createKey: Type.Optional(Type.Boolean()),
        }, { additionalProperties: false }),
        response: { 400: err, 403: err },
      },
    },
    async (request, reply) => {
      const { createKey, ...input } = request.body;
      const principal = await store.createPrincipal(input);
      const key = createKey === true ? await store.createKey(principal.name, 'first key') : undefined;
      return reply.code(201).send({ principal, ...(key ? { key } : {}) });
    },
  );

  app.get<{ Params: { principal: string } }>('/principals/:principal', { schema: { ...tag, summary: 'A principal with its keys (ids only) and ACLs', params: PrincipalParams } }, async (request) => {
    const name = request.params.principal;
    return { principal: store.getPrincipal(name), keys: store.listKeys(name), acls: store.listAcls({ principal: name }) };
  });

  app.delete<{ Params: { principal: string } }>('/principals/:principal', { schema: { ...tag, summary: 'Delete a principal with its keys and ACLs', params: PrincipalParams } }, async (request, reply) => {
    const name = request.params.principal;
    await store.deletePrincipal(name, (state) => {
      const superusers = Object.values(state.principals).filter((p) => p.superuser);
      if (state.principals[name].superuser && superusers.length === 1) throw new WebkaError('INVALID_REQUEST', `"${name}" is the last superuser; create another one first`);
    });
    return reply.code(204).send();
  });

  app.get<{ Params: { principal: string } }>('/principals/:principal/keys', { schema: { ...tag, summary: 'List a principal\'s API keys (ids and descriptions, never the keys)', params: PrincipalParams } }, async (request) => ({
    keys: store.listKeys(request.params.principal),
  }));

  app.post<{ Params: { principal: string }; Body: { description?: string } | undefined }>(
    '/principals/:principal/keys',
    { schema: { ...tag, summary: 'Create an API key; the key is in this answer only', params: PrincipalParams, body: Type.Optional(Type.Object({ description: Type.Optional(Type.String({ maxLength: 1024 })) }, { additionalProperties: false })) } },
    async (request, reply) => reply.code(201).send(await store.createKey(request.params.principal, request.body?.description ?? '')),
  );

  app.delete<{ Params: { principal: string; keyId: string } }>(
    '/principals/:principal/keys/:keyId',
    { schema: { ...tag, summary: 'Revoke an API key (effective at once)', params: Type.Object({ principal: Type.String({ maxLength: 128 }), keyId: Type.String({ maxLength: 64 }) }) } },
    async (request, reply) => {
      await store.revokeKey(request.params.principal, request.params.keyId);
      return reply.code(204).send();
    },
  );

  app.get<{ Querystring: { principal?: string } }>(
    '/acls',
    { schema: { ...tag, summary: 'List ACLs, optionally of one principal', querystring: Type.Object({ principal: Type.Optional(Type.String({ maxLength: 128 })) }) } },
    async (request) => ({ acls: store.listAcls({ principal: request.query.principal }) }),
  );

  app.post<{ Body: Record<string, unknown> }>(
    '/acls',
    {
      schema: {
        ...tag,
        summary: 'Add an ACL: allow or deny principal × resource × operations (deny wins)',
        body: Type.Object({ principal: Type.String({ maxLength: 128 }), effect: Type.Optional(Type.Union([Type.Literal('allow'), Type.Literal('deny')])), operations: Operations, resource: Pattern }, { additionalProperties: false }),
        response: { 400: err, 403: err, 404: err },
      },
    },
    async (request, reply) => reply.code(201).send(await store.addAcl(request.body)),
  );

  app.delete<{ Params: { aclId: string } }>('/acls/:aclId', { schema: { ...tag, summary: 'Remove an ACL', params: Type.Object({ aclId: Type.String({ maxLength: 64 }) }) } }, async (request, reply) => {
    await store.removeAcl(request.params.aclId);
    return reply.code(204).send();
  });

  app.post<{ Body: { grants: unknown; ttlSeconds?: number; cookie?: boolean } }>(
    '/tokens',
    {
      schema: {
        ...tag,
        summary: 'Mint a short-lived token carrying a subset of the caller\'s rights, for browsers (?access_token= or the webka_token cookie)',
        body: Type.Object({
          grants: Type.Array(Type.Object({ resource: Pattern, operations: Operations }, { additionalProperties: false }), { minItems: 1, maxItems: 64 }),
          ttlSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
          cookie: Type.Optional(Type.Boolean({ description: 'Also set the token as an HttpOnly, SameSite=Strict cookie' })),
        }, { additionalProperties: false }),
        response: { 400: err, 401: err, 403: err },
      },
    },
    async (request, reply) => {
      const p = request.principal;
      if (p.via === 'token') throw new WebkaError('FORBIDDEN', 'a token cannot mint tokens; use an API key');
      const grants = parseGrants(request.body.grants);
      const ttl = request.body.ttlSeconds ?? Math.min(900, tokens.maxTtlSeconds);
      if (ttl > tokens.maxTtlSeconds) throw new WebkaError('INVALID_REQUEST', `ttlSeconds is at most ${tokens.maxTtlSeconds} (tokenMaxTtlSeconds)`);
      if (!isAdmin(p)) {
        // Each use is also checked against the minter's ACLs; refusing here gives an early answer.
        for (const g of grants) {
          const r = single(g.resource);
          if (r === null) continue;
          for (const op of g.operations) if (!authorize(p, op, r)) throw new WebkaError('FORBIDDEN', `principal "${p.name}" may not ${op} ${r.type} "${r.name}", so its tokens cannot either`);
        }
      }
      const minted = await tokens.mint(p.name, grants, ttl);
      if (request.body.cookie === true) {
        const secure = request.protocol === 'https' ? '; Secure' : '';
        reply.header('set-cookie', `${TOKEN_COOKIE}=${minted.token}; Max-Age=${ttl}; Path=/; HttpOnly; SameSite=Strict${secure}`);
      }
      return reply.code(201).send({ token: minted.token, tokenType: 'Bearer', expiresAt: minted.expiresAt, grants });
    },
  );

  // Between brokers (hidden): answers once this broker holds the shared auth state at revision
  // atLeast or later, so that the broker that made a change can answer it knowing every live
  // broker applies it (plugins/security.ts); 408 REQUEST_TIMEOUT if it does not within the wait.
  app.get<{ Querystring: { atLeast: string } }>(
    '/internal/auth/revision',
    { schema: { hide: true, querystring: Type.Object({ atLeast: Type.String({ pattern: '^[0-9]{1,20}$' }) }) } },
    async (request) => {
      const home = app.security.authHome;
      if (home === null) throw new WebkaError('NOT_FOUND', 'this broker is not part of a cluster');
      if (!(await home.holds(BigInt(request.query.atLeast), AUTH_CONFIRM_MS))) throw new WebkaError('REQUEST_TIMEOUT', `this broker does not hold revision ${request.query.atLeast} of the principals, keys and ACLs yet`);
      return { revision: String(home.revision) };
    },
  );
}
