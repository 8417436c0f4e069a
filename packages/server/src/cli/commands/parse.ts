/** Argument parsers shared by the commands; a bad value is a usage error (exit 2). */
import { InvalidArgumentError } from 'commander';

export function positiveInt(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

/** key=value pairs; an integer value is sent as a number; `key=` (empty) removes an override. */
export function parseConfigs(pairs: string[]): Record<string, number | string | null> {
  const out: Record<string, number | string | null> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw new InvalidArgumentError(`config "${p}" must be key=value`);
    const k = p.slice(0, i);
    const v = p.slice(i + 1);
    out[k] = v === '' ? null : /^-?\d+$/.test(v) ? Number(v) : v;
  }
  return out;
}

/**
 * A start position: `beginning`, `end`, an offset, `-<n>` (the last n records of each partition,
 * as kcat's -o -n), or a time as `@<ms since epoch>` or an ISO date (2026-01-31T12:00:00Z).
 */
export type Position = 'earliest' | 'latest' | { offset: number } | { timestamp: number } | { last: number };

export function parsePosition(v: string): Position {
  if (v === 'beginning' || v === 'earliest') return 'earliest';
  if (v === 'end' || v === 'latest') return 'latest';
  if (/^\d+$/.test(v)) return { offset: Number(v) };
  if (/^-\d+$/.test(v)) return { last: -Number(v) };
  if (/^@\d+$/.test(v)) return { timestamp: Number(v.slice(1)) };
  const t = Date.parse(v);
  if (/^\d{4}-\d{2}-\d{2}/.test(v) && Number.isFinite(t)) return { timestamp: t };
  throw new InvalidArgumentError('must be beginning, end, an offset, -<n> (the last n of each partition), @<ms since epoch> or an ISO time');
}
