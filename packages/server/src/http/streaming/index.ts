/**
 * The real-time face of the broker, registered by app.ts under /v1: SSE streams of a topic (the
 * partition stream is negotiated on the fetch route) and the WebSocket endpoint. README.md says
 * what each file owns.
 */
import type { FastifyInstance } from 'fastify';
import { sseRoutes } from './sse-routes.js';
import { wsRoute } from './ws-route.js';
import type { AppContext } from '../app.js';
import type { GroupCoordinator } from '../../groups/group-coordinator.js';
import { streamingHub } from './streaming-hub.js';
import { groupSubscriber } from './ws-group.js';

export { streamingHub } from './streaming-hub.js';
export { streamGroupMember } from './sse-group.js';
export { wantsEventStream } from './sse-records.js';

export async function streamingRoutes(app: FastifyInstance): Promise<void> {
  await app.register(sseRoutes);
  await app.register(wsRoute);
}

/** Called by the groups routes with their coordinator, so that WebSockets can subscribe to groups. */
export function provideGroupCoordinator(ctx: AppContext, coordinator: GroupCoordinator): void {
  const hub = streamingHub(ctx);
  hub.groups = groupSubscriber(coordinator, { maxBytes: hub.config.streamReadBytes, maxWaitMs: Math.max(1000, hub.config.maxLongPollMs) });
}
