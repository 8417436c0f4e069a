/** Printing: aligned tables for people, one JSON document (or one per line) for programs. */

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Prints rows under headers, each column as wide as its widest cell. */
export function printTable(headers: string[], rows: (string | number | null | undefined)[][]): void {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  let out = '';
  for (const r of cells) out += r.map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i]))).join('  ') + '\n';
  process.stdout.write(out);
}

export function printFields(fields: [string, unknown][]): void {
  const w = Math.max(...fields.map(([k]) => k.length));
  let out = '';
  for (const [k, v] of fields) out += `${(k + ':').padEnd(w + 1)}  ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}\n`;
  process.stdout.write(out);
}
