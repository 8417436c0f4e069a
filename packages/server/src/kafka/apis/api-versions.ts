/** ApiVersions: the APIs and version ranges this listener serves (from the handler table). */
import { ApiVersions } from '../messages-core.js';
import type { ApiHandler } from '../context.js';
import type { ApiDef } from '../schema.js';

export function apiVersionsHandler(all: () => readonly ApiDef[]): ApiHandler {
  return {
    def: ApiVersions,
    handle: () => ({
      errorCode: 0,
      apiKeys: all().map((d) => ({ apiKey: d.key, minVersion: d.minVersion, maxVersion: d.maxVersion })),
      throttleTimeMs: 0,
    }),
  };
}
