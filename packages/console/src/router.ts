/**
 * Hash routes, so the broker serves one page for every view and a reload keeps the place:
 *   #/                                 overview
 *   #/c/{cluster}/topics               topics (search, paging, create)
 *   #/c/{cluster}/topics/{topic}       one topic: partitions, configs, delete
 *   #/c/{cluster}/topics/{topic}/messages   browse, live tail, produce
 *   #/c/{cluster}/groups[/{group}]     consumer groups
 *   #/streams[/{path}]                 Durable Streams
 *   #/security                         principals, keys, ACLs (superusers)
 */
import { signal } from './signal.js';

export type Route =
  | { page: 'overview' }
  | { page: 'topics'; cluster: string }
  | { page: 'topic'; cluster: string; topic: string }
  | { page: 'messages'; cluster: string; topic: string }
  | { page: 'groups'; cluster: string }
  | { page: 'group'; cluster: string; group: string }
  | { page: 'streams' }
  | { page: 'stream'; path: string }
  | { page: 'security' };

export function parse(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const [a, b, c, d, e] = parts;
  if (a === 'c' && b) {
    if (c === 'topics' && d) return e === 'messages' ? { page: 'messages', cluster: b, topic: d } : { page: 'topic', cluster: b, topic: d };
    if (c === 'topics') return { page: 'topics', cluster: b };
    if (c === 'groups' && d) return { page: 'group', cluster: b, group: d };
    if (c === 'groups') return { page: 'groups', cluster: b };
  }
  if (a === 'streams') return parts.length > 1 && parts.slice(1).join('/') !== '' ? { page: 'stream', path: parts.slice(1).join('/') } : { page: 'streams' };
  if (a === 'security') return { page: 'security' };
  return { page: 'overview' };
}

const enc = encodeURIComponent;

export const href = {
  overview: () => '#/',
  topics: (cluster: string) => `#/c/${enc(cluster)}/topics`,
  topic: (cluster: string, topic: string) => `#/c/${enc(cluster)}/topics/${enc(topic)}`,
  messages: (cluster: string, topic: string) => `#/c/${enc(cluster)}/topics/${enc(topic)}/messages`,
  groups: (cluster: string) => `#/c/${enc(cluster)}/groups`,
  group: (cluster: string, group: string) => `#/c/${enc(cluster)}/groups/${enc(group)}`,
  streams: () => '#/streams',
  stream: (path: string) => `#/streams/${path.split('/').map(enc).join('/')}`,
  security: () => '#/security',
};

export const route = signal<Route>(parse(location.hash));
addEventListener('hashchange', () => {
  route.value = parse(location.hash);
});

export function go(to: string): void {
  location.hash = to;
}
