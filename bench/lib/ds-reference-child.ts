/**
 * The Durable Streams protocol's reference Node server (@durable-streams/server, data in memory)
 * in its own process, on 127.0.0.1 and port 0, long-poll timeout in argv[2]. Tells its port over
 * IPC and stops when the parent disconnects or sends SIGTERM, as broker-child.ts does.
 */
import { DurableStreamTestServer } from '@durable-streams/server';

const server = new DurableStreamTestServer({ port: 0, host: '127.0.0.1', longPollTimeout: Number(process.argv[2] ?? 20_000) });
const url = await server.start();
let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  server.stop().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('disconnect', stop);
process.send!({ ready: true, port: Number(new URL(url).port) });
