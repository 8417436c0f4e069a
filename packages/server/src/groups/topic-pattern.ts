/**
 * Subscription patterns: a client's regular expression, matched against whole topic names on every
 * join, rebalance and topic change. JavaScript's own engine backtracks (`(.*.*)*x` against a
 * 16-character name blocks the event loop for seconds), so patterns are compiled by RE2JS, a port
 * of RE2 whose matching time is linear in the name: no look-around and no back-references, which
 * RE2 refuses at compile time. Kafka matches the whole name (Java's `Pattern.matches`), and so
 * does `matches` here.
 */
import { RE2JS } from 're2js';
import { MAX_PATTERN_LENGTH } from '@webka/protocol';
import { WebkaError } from '../errors.js';

export interface TopicPattern {
  /** Whether the whole topic name matches. */
  matches(topic: string): boolean;
}

/** Compiles a subscription pattern, or throws INVALID_REQUEST saying what to fix. */
export function compileTopicPattern(pattern: string): TopicPattern {
  if (pattern.length === 0 || pattern.length > MAX_PATTERN_LENGTH) {
    throw new WebkaError('INVALID_REQUEST', `pattern must be 1 to ${MAX_PATTERN_LENGTH} characters (got ${pattern.length})`);
  }
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(pattern);
  } catch (err) {
    throw new WebkaError('INVALID_REQUEST', `pattern is not a valid RE2 regular expression (no look-around or back-references): ${(err as Error).message}`);
  }
  return { matches: (topic) => compiled.matches(topic) };
}
