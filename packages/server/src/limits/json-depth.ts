/**
 * How deeply a client's JSON may nest. JSON.parse reads any depth without recursion, but
 * JSON.stringify, schema checks and hashing recurse, and a value a few thousand levels deep
 * overflows their stack. So every JSON a client sends (request bodies, Durable Streams JSON
 * appends, WebSocket frames) is checked once after parsing, without recursion, and one nested
 * deeper than MAX_JSON_DEPTH is refused with 400 before anything else sees it. Jackson's default
 * (StreamReadConstraints) is the same 1,000 levels.
 */
import { WebkaError } from '../errors.js';

/** Levels of arrays and objects, counting the outermost: `[[1]]` is 2 deep. */
export const MAX_JSON_DEPTH = 1000;

/** Whether a parsed JSON value has arrays or objects nested deeper than max. Iterative. */
export function jsonDeeperThan(value: unknown, max: number = MAX_JSON_DEPTH): boolean {
  if (value === null || typeof value !== 'object') return false;
  const nodes: object[] = [value];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop()!;
    const depth = depths.pop()!;
    if (depth > max) return true;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const child: unknown = node[i];
        if (child !== null && typeof child === 'object') {
          nodes.push(child);
          depths.push(depth + 1);
        }
      }
    } else {
      for (const key in node) {
        const child = (node as Record<string, unknown>)[key];
        if (child !== null && typeof child === 'object') {
          nodes.push(child);
          depths.push(depth + 1);
        }
      }
    }
  }
  return false;
}

/** The refusal for JSON nested too deeply; `what` names it ("the body", "the frame"). */
export function tooDeep(what: string): WebkaError {
  return new WebkaError('INVALID_REQUEST', `${what} nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep; send flatter JSON (or the value as text or binary)`);
}
