/**
 * Kafka's primitive wire types (https://kafka.apache.org/protocol#protocol_types), read from and
 * written to byte buffers. Every integer is big-endian. Classic (non-flexible) versions prefix
 * strings with an int16 length and bytes and arrays with an int32 length, -1 meaning null;
 * flexible versions (KIP-482) use "compact" forms: an unsigned varint of length + 1, 0 meaning
 * null, and end every struct with tagged fields (a count, then tag, size and bytes for each).
 *
 * WireReader never reads past its end and never allocates from a length it has not checked
 * against the bytes that remain: a frame that lies about a length throws ProtocolError, which
 * the connection answers by closing (the frame itself was already bounded by the size limit).
 */

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export class WireReader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;

  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  #need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.end) throw new ProtocolError(`${what} needs ${n} bytes but ${this.end - this.pos} remain`);
  }

  /** A fixed-width value read by one of Buffer's readers at pos. */
  #fixed(n: number, what: string, read: (this: Buffer, offset: number) => number): number {
    this.#need(n, what);
    const v = read.call(this.buf, this.pos);
    this.pos += n;
    return v;
  }

  int8(): number {
    this.#need(1, 'int8');
    return this.buf.readInt8(this.pos++);
  }

  int16(): number {
    return this.#fixed(2, 'int16', this.buf.readInt16BE);
  }

  int32(): number {
    return this.#fixed(4, 'int32', this.buf.readInt32BE);
  }

  uint32(): number {
    return this.#fixed(4, 'uint32', this.buf.readUInt32BE);
  }

  /** int64 as a number: offsets, timestamps and producer ids stay within ±2^53. */
  int64(): number {
    this.#need(8, 'int64');
    const v = this.buf.readInt32BE(this.pos) * 4294967296 + this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return v;
  }

  float64(): number {
    return this.#fixed(8, 'float64', this.buf.readDoubleBE);
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  uuid(): Buffer {
    this.#need(16, 'uuid');
    const v = this.buf.subarray(this.pos, this.pos + 16);
    this.pos += 16;
    return v;
  }

  uvarint(): number {
    let value = 0;
    let shift = 0;
    for (;;) {
      this.#need(1, 'varint');
      const b = this.buf[this.pos++];
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
      shift += 7;
      if (shift > 28) throw new ProtocolError('varint longer than 5 bytes');
    }
  }

  /** A length: classic int16/int32 or compact uvarint - 1; -1 means null. */
  length(compact: boolean, wide: boolean): number {
    const n = compact ? this.uvarint() - 1 : wide ? this.int32() : this.int16();
    if (n < -1) throw new ProtocolError(`negative length ${n}`);
    return n;
  }

  string(compact: boolean): string | null {
    const n = this.length(compact, false);
    if (n < 0) return null;
    this.#need(n, 'string');
    const v = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A view into the frame, not a copy. */
  bytes(compact: boolean): Buffer | null {
    const n = this.length(compact, true);
    if (n < 0) return null;
    this.#need(n, 'bytes');
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** An array's element count, checked against the bytes left (every element takes one at least). */
  arrayLength(compact: boolean): number {
    const n = this.length(compact, true);
    if (n > this.remaining) throw new ProtocolError(`array of ${n} elements in ${this.remaining} bytes`);
    return n;
  }

  skip(n: number): void {
    this.#need(n, 'tagged field');
    this.pos += n;
  }
}

const CHUNK = 16 * 1024;
/** Buffers at least this large are kept as chunks of their own rather than copied. */
const ZERO_COPY_MIN = 1024;

/**
 * Writes a response as a list of chunks: scalars go into a scratch buffer, large byte fields
 * (record batches read from the log) are referenced, not copied, and the socket gets them all
 * with one writev.
 */
export class WireWriter {
  #chunks: Buffer[] = [];
  #cur = Buffer.allocUnsafe(CHUNK);
  #pos = 0;
  #done = 0;

  get byteLength(): number {
    return this.#done + this.#pos;
  }

  #room(n: number): void {
    if (this.#pos + n <= this.#cur.length) return;
    this.#cut();
    this.#cur = Buffer.allocUnsafe(Math.max(CHUNK, n));
  }

  #cut(): void {
    if (this.#pos > 0) {
      this.#chunks.push(this.#cur.subarray(0, this.#pos));
      this.#done += this.#pos;
      this.#cur = this.#cur.subarray(this.#pos);
      this.#pos = 0;
    }
  }

  int8(v: number): void {
    this.#room(1);
    this.#cur.writeInt8(v, this.#pos++);
  }

  int16(v: number): void {
    this.#put(2, v, this.#cur.writeInt16BE);
  }

  int32(v: number): void {
    this.#put(4, v, this.#cur.writeInt32BE);
  }

  uint32(v: number): void {
    this.#put(4, v >>> 0, this.#cur.writeUInt32BE);
  }

  /** A fixed-width value written by one of Buffer's writers. */
  #put(n: number, v: number, write: (this: Buffer, value: number, offset: number) => number): void {
    this.#room(n);
    write.call(this.#cur, v, this.#pos);
    this.#pos += n;
  }

  int64(v: number): void {
    this.#room(8);
    this.#cur.writeInt32BE(Math.floor(v / 4294967296), this.#pos);
    this.#cur.writeUInt32BE(v >>> 0, this.#pos + 4);
    this.#pos += 8;
  }

  float64(v: number): void {
    this.#put(8, v, this.#cur.writeDoubleBE);
  }

  bool(v: boolean): void {
    this.int8(v ? 1 : 0);
  }

  uvarint(v: number): void {
    this.#room(5);
    while (v >= 0x80) {
      this.#cur[this.#pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.#cur[this.#pos++] = v;
  }

  length(n: number, compact: boolean, wide: boolean): void {
    if (compact) this.uvarint(n + 1);
    else if (wide) this.int32(n);
    else this.int16(n);
  }

  string(v: string | null, compact: boolean): void {
    if (v === null) return this.length(-1, compact, false);
    const n = Buffer.byteLength(v);
    this.length(n, compact, false);
    this.#room(n);
    this.#pos += this.#cur.write(v, this.#pos, 'utf8');
  }

  bytes(v: Buffer | null, compact: boolean): void {
    if (v === null) return this.length(-1, compact, true);
    this.length(v.length, compact, true);
    this.raw(v);
  }

  raw(v: Buffer): void {
    if (v.length >= ZERO_COPY_MIN) {
      this.#cut();
      this.#chunks.push(v);
      this.#done += v.length;
      return;
    }
    this.#room(v.length);
    this.#cur.set(v, this.#pos);
    this.#pos += v.length;
  }

  uuid(v: Buffer | null): void {
    this.raw(v ?? Buffer.alloc(16));
  }

  /** The chunks written so far; the writer must not be used afterwards. */
  finish(): Buffer[] {
    this.#cut();
    return this.#chunks;
  }
}
