/** Produce bodies of 100 B records, the same bytes for the broker and for the baselines. */

/** A JSON string value whose JSON text (as stored by the broker) is `bytes` long. */
export function valueOf(bytes: number): string {
  return 'v'.repeat(bytes - 2);
}

/** {"records":[{"value":"vvv…"}, …]} with n records whose stored values are `bytes` long. */
export function produceBody(n: number, bytes = 100): string {
  const one = JSON.stringify({ value: valueOf(bytes) });
  return `{"records":[${new Array(n).fill(one).join(',')}]}`;
}
