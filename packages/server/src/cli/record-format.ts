/**
 * Output templates for `webka consume --format`, in the manner of kcat's -f:
 *
 *   %t topic      %p partition    %o offset       %T timestamp (ms)    %k key    %s value
 *   %K key length in bytes (-1 for none)          %S value length in bytes (-1 for a tombstone)
 *   %h headers as key=value,key=value             %%  a percent sign
 *   \n newline    \t tab    \r carriage return    \\ backslash
 *
 * A null key prints as nothing, a tombstone's value as nothing. The template is compiled once
 * into a list of parts, so formatting a record is a loop over them.
 */
import type { ConsumerRecord } from '@webka/client';
import { UsageError } from './exit-codes.js';

type Part = string | ((r: ConsumerRecord) => string);

const text = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));
const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

const TOKENS: Record<string, (r: ConsumerRecord) => string> = {
  t: (r) => r.topic,
  p: (r) => String(r.partition),
  o: (r) => String(r.offset),
  T: (r) => String(r.timestamp),
  k: (r) => text(r.key),
  s: (r) => text(r.value),
  K: (r) => (r.key === null ? '-1' : String(bytes(r.key))),
  S: (r) => (r.value === null ? '-1' : String(bytes(text(r.value)))),
  h: (r) =>
    Object.entries(r.headers)
      .map(([k, v]) => (v === null ? k : `${k}=${v}`))
      .join(','),
};

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\' };

export function compileFormat(template: string): (r: ConsumerRecord) => string {
  const parts: Part[] = [];
  let lit = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c === '%' || c === '\\') {
      const n = template[i + 1];
      if (n === undefined) throw new UsageError(`--format ends with a lone "${c}"`);
      i++;
      if (c === '%' && n === '%') lit += '%';
      else if (c === '%') {
        const fn = TOKENS[n];
        if (fn === undefined) throw new UsageError(`--format: unknown token %${n}; known: ${Object.keys(TOKENS).map((t) => '%' + t).join(' ')} %%`);
        if (lit.length > 0) parts.push(lit);
        lit = '';
        parts.push(fn);
      } else {
        const e = ESCAPES[n];
        if (e === undefined) throw new UsageError(`--format: unknown escape \\${n}; known: \\n \\t \\r \\\\`);
        lit += e;
      }
    } else lit += c;
  }
  if (lit.length > 0) parts.push(lit);
  return (r) => {
    let out = '';
    for (const p of parts) out += typeof p === 'string' ? p : p(r);
    return out;
  };
}
