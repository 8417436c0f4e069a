/**
 * Reloads the TLS certificate and key when their files change (a renewed certificate is picked
 * up without a restart; connections already open keep their session). The files are checked
 * by stat every few seconds (fs.watchFile), which also sees replacements by rename, as
 * certificate tools do. A pair that does not load is logged and the old one kept.
 */
import fs from 'node:fs';
import type { Server } from 'node:https';
import type { FastifyBaseLogger } from 'fastify';

export function watchTls(server: Server, files: { cert: string; key: string }, log: FastifyBaseLogger, intervalMs = 2_000): () => void {
  let pending: NodeJS.Timeout | undefined;
  const reload = (): void => {
    clearTimeout(pending);
    // Certificate and key are often written one after the other: wait for both.
    pending = setTimeout(() => {
      try {
        server.setSecureContext({ cert: fs.readFileSync(files.cert), key: fs.readFileSync(files.key) });
        log.info({ cert: files.cert }, 'TLS certificate reloaded');
      } catch (err) {
        log.error({ cert: files.cert, err: (err as Error).message }, 'TLS certificate reload failed; keeping the previous one');
      }
    }, 200);
    pending.unref();
  };
  const opts = { interval: intervalMs, persistent: false };
  fs.watchFile(files.cert, opts, reload);
  fs.watchFile(files.key, opts, reload);
  return () => {
    clearTimeout(pending);
    fs.unwatchFile(files.cert, reload);
    fs.unwatchFile(files.key, reload);
  };
}
