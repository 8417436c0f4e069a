/**
 * GET /v1/ws: the WebSocket endpoint (protocol in protocol/src/frames.ts and
 * docs/websocket-protocol.md). Past maxWebSockets the upgrade is refused with 429 and the error
 * shape; a frame larger than maxFrameBytes closes the socket with 1009 (ws enforces it while
 * reading, before the frame is in memory). An upgrade whose Origin is neither the broker's own
 * nor allowed by corsOrigins is refused with 403 (cross-site WebSocket hijacking).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { frameAccess } from '../plugins/frame-access.js';
import { originAllowed } from '../cors.js';
import { WebkaError } from '../../errors.js';
import { streamingHub } from './streaming-hub.js';
import { WsSession } from './ws-session.js';

export async function wsRoute(app: FastifyInstance): Promise<void> {
  const hub = streamingHub(app.webka);
  const releases = new WeakMap<FastifyRequest, () => void>();
  app.get('/ws', {
    websocket: true,
    // Runs before the upgrade: an answer here is plain HTTP with the error shape.
    preValidation: async (request) => {
      if (hub.stopping) throw new WebkaError('SHUTTING_DOWN', 'the broker is shutting down');
      if (!request.ws) throw new WebkaError('INVALID_REQUEST', '/v1/ws is a WebSocket endpoint: connect with Upgrade: websocket');
      const origin = request.headers.origin;
      if (origin !== undefined && !originAllowed(app.webka.config, origin, request.headers.host)) {
        throw new WebkaError('FORBIDDEN', `WebSocket upgrades from origin ${JSON.stringify(origin.slice(0, 200))} are refused: a page may connect from the broker's own origin or one listed in corsOrigins`);
      }
      const release = hub.wsLimits.acquire(request.ip);
      releases.set(request, release);
      request.raw.socket.once('close', release);
    },
  }, (socket, request) => {
    socket.once('close', () => releases.get(request)?.());
    const access = frameAccess(app, request);
    new WsSession(socket, app.webka, hub, request.log, request.ip, access);
    // A token's end ends the socket, with a last frame that says why (docs/security.md).
    const cancel = access.onExpiry(() => {
      socket.send(JSON.stringify({ type: 'error', id: null, error: { code: 'UNAUTHENTICATED', message: 'the access token expired; reconnect with a new one' } }));
      socket.close(4401, 'token expired');
    });
    socket.once('close', cancel);
  });
}
