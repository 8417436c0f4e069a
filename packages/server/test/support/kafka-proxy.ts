/**
 * A man in the middle for Kafka clients' retry tests: it forwards every frame between a client
 * and the broker, and once armed drops the answer to the next Produce request and closes the
 * client's connection, as a network failure after the broker wrote the batch would: the client
 * sends the batch again.
 */
import net from 'node:net';

/**
 * A proxy on 127.0.0.2 at the broker's Kafka port (the broker advertises 127.0.0.2, so every
 * connection of the client passes it) that forwards everything but drops the answer to the first
 * Produce request once armed, closing the client's connection: the client retries the batch.
 */
export async function dropFirstProduceAnswer(port: number): Promise<{ arm(): void; dropped(): number; close(): Promise<void> }> {
  let armed = false;
  let dropped = 0;
  const sockets = new Set<net.Socket>();
  const frames = (onFrame: (f: Buffer) => void) => {
    let buf = Buffer.alloc(0);
    return (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const size = buf.readInt32BE(0);
        onFrame(buf.subarray(0, 4 + size));
        buf = buf.subarray(4 + size);
      }
    };
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    const produces = new Set<number>();
    client.on('data', frames((f) => {
      if (f.readInt16BE(4) === 0 && armed) produces.add(f.readInt32BE(8));
      upstream.write(f);
    }));
    upstream.on('data', frames((f) => {
      if (produces.has(f.readInt32BE(4))) {
        armed = false;
        dropped++;
        client.destroy();
        upstream.destroy();
        return;
      }
      if (!client.destroyed) client.write(f);
    }));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.2', resolve));
  return {
    arm: () => (armed = true),
    dropped: () => dropped,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
