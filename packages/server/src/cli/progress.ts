/**
 * A progress line on stderr for long inputs: a bar when the input's size is known (a file
 * redirected to stdin), else a running count. Drawn only on a terminal, at most 10 times a
 * second, and only once the work has taken half a second (short inputs print nothing).
 */
export class Progress {
  #total: number | undefined;
  #start = Date.now();
  #lastDraw = 0;
  #drawn = false;
  #enabled: boolean;
  #stream: NodeJS.WriteStream;

  constructor(totalBytes: number | undefined, stream: NodeJS.WriteStream = process.stderr, enabled = stream.isTTY === true) {
    this.#total = totalBytes;
    this.#stream = stream;
    this.#enabled = enabled;
  }

  update(records: number, bytes: number): void {
    if (!this.#enabled) return;
    const now = Date.now();
    if (now - this.#start < 500 || now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    this.#draw(records, bytes, now);
  }

  finish(records: number, bytes: number): void {
    if (!this.#enabled || !this.#drawn) return;
    this.#draw(records, bytes, Date.now());
    this.#stream.write('\n');
  }

  #draw(records: number, bytes: number, now: number): void {
    this.#drawn = true;
    const secs = Math.max(0.001, (now - this.#start) / 1000);
    const rate = `${Math.round(records / secs).toLocaleString('en-US')} records/s`;
    let line: string;
    if (this.#total !== undefined && this.#total > 0) {
      const frac = Math.min(1, bytes / this.#total);
      const width = 30;
      const full = Math.round(frac * width);
      line = `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(frac * 100).toFixed(0).padStart(3)}%  ${records.toLocaleString('en-US')} records  ${rate}`;
    } else {
      line = `${records.toLocaleString('en-US')} records  ${(bytes / 1048576).toFixed(1)} MiB  ${rate}`;
    }
    this.#stream.write(`\r${line}\x1b[K`);
  }
}
