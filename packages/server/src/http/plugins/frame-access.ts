/**
 * Authorisation of WebSocket frames. The upgrade (GET /v1/ws) needs only a principal; each frame
 * names its own resources, so each is checked here with the same rules as the REST routes:
 *   produce          write on the topic, and a socket authenticated by Authorization (one opened
 *                    with the cookie or ?access_token= only reads: those travel cross-site)
 *   subscribe topic  read on the topic
 *   subscribe group  read on the group and on every topic named
 *   unsubscribe, commit, ack, ping   act on this socket's own subscriptions: nothing more
 * A resource the principal cannot describe is reported as missing (TOPIC_NOT_FOUND), as on REST.
 * A socket authenticated by a token ends when the token expires: onExpiry's callback runs then.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { WebkaError } from '../../errors.js';
import type { Operation, RequestPrincipal, Resource } from '../../auth/types.js';

export interface FrameAccess {
  /** The socket's principal: group members it joins are its own. */
  readonly principal: string;
  /** The same, for the checks of what it presents (producer ids). */
  readonly caller: RequestPrincipal;
  /** Throws FORBIDDEN or *_NOT_FOUND when the socket's principal may not act on the frame. */
  check(frame: { type: string; cluster?: string; topic?: string; group?: string; topics?: readonly string[] }): void;
  /** Runs fn when the principal's token expires (never for API keys); returns a cancel. */
  onExpiry(fn: () => void): () => void;
  /** Whether the principal may read a topic of cluster (for pattern subscriptions); undefined: any. */
  topicReader(cluster: string): ((topic: string) => boolean) | undefined;
}

export function frameAccess(app: FastifyInstance, request: FastifyRequest): FrameAccess {
  const principal = request.principal;
  const { authorize, enabled, isAdmin } = app.security;
  const need = (op: Operation, r: Resource): void => {
    if (authorize(principal, op, r)) return;
    if (!authorize(principal, 'describe', r)) {
      if (r.type === 'topic') throw new WebkaError('TOPIC_NOT_FOUND', `topic "${r.name}" does not exist in cluster "${r.cluster}"`);
      if (r.type === 'group') throw new WebkaError('GROUP_NOT_FOUND', `group "${r.name}" does not exist in cluster "${r.cluster}"`);
    }
    throw new WebkaError('FORBIDDEN', `principal "${principal.name}" may not ${op} ${r.type} "${r.name}"`);
  };
  return {
    principal: principal.name,
    caller: principal,
    check(frame) {
      const cluster = frame.cluster ?? '';
      if (frame.type === 'produce' && principal.readOnly === true) {
        throw new WebkaError('FORBIDDEN', 'this socket was opened with a cookie or ?access_token=, which only read; to produce, open it with Authorization: Bearer <key or token>');
      }
      if (frame.type === 'produce' && frame.topic !== undefined) need('write', { type: 'topic', cluster, name: frame.topic });
      if (frame.type !== 'subscribe') return;
      if (frame.group !== undefined) {
        need('read', { type: 'group', cluster, name: frame.group });
        for (const t of frame.topics ?? []) need('read', { type: 'topic', cluster, name: t });
      } else if (frame.topic !== undefined) {
        need('read', { type: 'topic', cluster, name: frame.topic });
      }
    },
    topicReader(cluster) {
      if (!enabled || isAdmin(principal)) return undefined;
      return (topic) => authorize(principal, 'read', { type: 'topic', cluster, name: topic });
    },
    onExpiry(fn) {
      if (principal.expiresAt === undefined) return () => undefined;
      const t = setTimeout(fn, Math.max(0, principal.expiresAt - Date.now()));
      t.unref();
      return () => clearTimeout(t);
    },
  };
}
