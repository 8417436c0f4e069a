/**
 * Kafka's naming rule, shared by clusters, topics and groups: [a-zA-Z0-9._-], 1 to 249 characters,
 * never "." or "..". Because names are also used in URLs, the rule guarantees that no name can
 * carry a path separator or traversal.
 */
export const NAME_PATTERN = /^[a-zA-Z0-9._-]{1,249}$/;
export const MAX_NAME_LENGTH = 249;

/** Returns null when valid, or a message saying what to fix. */
export function checkName(kind: string, name: unknown): string | null {
  if (typeof name !== 'string' || name.length === 0) return `${kind} name must be a non-empty string`;
  if (name.length > MAX_NAME_LENGTH) return `${kind} name is ${name.length} characters; the maximum is ${MAX_NAME_LENGTH}`;
  if (name === '.' || name === '..') return `${kind} name cannot be "." or ".."`;
  if (!NAME_PATTERN.test(name)) return `${kind} name "${name}" has characters outside [a-zA-Z0-9._-]`;
  return null;
}

/**
 * Two names collide when they differ only by "." versus "_" (Kafka's metric-name rule) or only
 * by case (so that the data directory works on case-insensitive file systems).
 */
export function collisionKey(name: string): string {
  return name.replace(/\./g, '_').toLowerCase();
}
