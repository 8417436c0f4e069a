/**
 * Stream paths and the topics that hold them.
 *
 * A stream is addressed as `/v1/stream/{path}`; the path (percent-decoded once) is the stream's
 * identity and may hold any character but control characters, including "/", spaces and
 * non-ASCII. Topic names follow Kafka's rule ([a-zA-Z0-9._-], at most 249), so each path maps
 * deterministically to `<readable part>.<hash>`: the readable part is the path with every other
 * character replaced by "_" (cut to 64 characters), the hash is the first 24 hex digits of
 * SHA-256 of the path, which tells apart paths that read the same. The path itself is kept in
 * the stream's metadata.
 *
 * No path can reach the file system: a partition's directory is named by the topic's random id,
 * never by its name, and the name is only a catalog key.
 */
import { createHash } from 'node:crypto';
import { StreamError } from './stream-error.js';

export const STREAM_PREFIX = '/v1/stream/';
export const MAX_PATH_LENGTH = 1024;

/** The stream path of a request URL (`/v1/stream/a/b?offset=...` -> `a/b`). */
export function streamPathOfUrl(url: string): string {
  const q = url.indexOf('?');
  const raw = q < 0 ? url : url.slice(0, q);
  if (!raw.startsWith(STREAM_PREFIX)) throw new StreamError(404, 'not a stream URL');
  return checkPath(decode(raw.slice(STREAM_PREFIX.length)));
}

/**
 * The stream path named by Stream-Forked-From: a path (`/v1/stream/src`) or an absolute URL of
 * this server. Resolved like a request URL.
 */
export function streamPathOfReference(value: string): string {
  let pathPart = value;
  if (/^https?:\/\//i.test(value)) {
    try {
      const u = new URL(value);
      pathPart = u.pathname;
    } catch {
      throw new StreamError(400, 'Stream-Forked-From is not a valid URL');
    }
  }
  if (!pathPart.startsWith(STREAM_PREFIX)) throw new StreamError(400, `Stream-Forked-From must name a stream (${STREAM_PREFIX}{path})`);
  return checkPath(decode(pathPart.slice(STREAM_PREFIX.length)));
}

function decode(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new StreamError(400, 'the stream path is not valid percent-encoding');
  }
}

function checkPath(path: string): string {
  if (path.length === 0) throw new StreamError(400, 'the stream path is empty');
  if (path.length > MAX_PATH_LENGTH) throw new StreamError(400, `the stream path is longer than ${MAX_PATH_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) throw new StreamError(400, 'the stream path holds control characters');
  return path;
}

/** Recent paths' topic names: every request to a stream names its topic for the ACL check. */
const recentTopicNames = new Map<string, string>();
const RECENT_TOPIC_NAMES = 4096;

/** The topic (in the streams cluster) that holds the stream at path. */
export function topicNameFor(path: string): string {
  let name = recentTopicNames.get(path);
  if (name !== undefined) return name;
  const hash = createHash('sha256').update(path, 'utf8').digest('hex').slice(0, 24);
  const readable = path.replace(/[^A-Za-z0-9-]+/g, '_').replace(/^_+/, '').slice(0, 64);
  name = `${readable.length > 0 ? readable : 'stream'}.${hash}`;
  // bounded: past the limit, start over (a hit saves a SHA-256, a miss costs one)
  if (recentTopicNames.size >= RECENT_TOPIC_NAMES) recentTopicNames.clear();
  recentTopicNames.set(path, name);
  return name;
}
