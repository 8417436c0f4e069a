/** How numbers, sizes, times and record values are shown. */

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export const count = (n: number): string => n.toLocaleString('en-US');

export function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export const time = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/** A config value the way Kafka users read it: ms as a duration, bytes as a size. */
export function configValue(key: string, v: number | string): string {
  if (typeof v !== 'number' || v < 0) return String(v);
  if (key.endsWith('.ms')) return `${v} (${duration(v)})`;
  if (key.endsWith('.bytes') && v >= 1024) return `${v} (${bytes(v)})`;
  return String(v);
}

/** Base64 text as hex pairs, for binary values. */
export function base64ToHex(b64: string): string {
  const bin = atob(b64);
  let out = '';
  for (let i = 0; i < bin.length; i++) out += bin.charCodeAt(i).toString(16).padStart(2, '0') + (i % 16 === 15 ? '\n' : ' ');
  return out.trimEnd();
}

/** One line of a value for a list row (the detail pane shows it whole). */
export function preview(value: unknown, encoding: string | undefined): string {
  if (value === null) return 'null (tombstone)';
  if (encoding === 'base64') return `binary, ${Math.floor(((value as string).length * 3) / 4)} bytes`;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 200 ? text.slice(0, 200) + '…' : text;
}

export function errorText(err: unknown): string {
  if (err === undefined || err === null) return '';
  const e = err as { code?: string; message?: string };
  return e.code !== undefined ? `${e.code}: ${e.message}` : String(e.message ?? err);
}
