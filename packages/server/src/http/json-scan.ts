/**
 * A JSON checker over bytes that also says where each value lies and whether its text is already
 * what the broker would store for it: the first pass of the JSON produce path (produce-body.ts).
 *
 * A JSON value is stored as JSON.stringify(JSON.parse(text)) (record-json.ts). That text is
 * "canonical": no whitespace; strings escape only `"`, `\` and control characters, as \b \f \n
 * \r \t or \u00xx; numbers as JavaScript prints them; in an object, each key once, with
 * array-index keys first. When a value's bytes already read so, storing them as sent gives the same
 * bytes without building the value. The scanner is sure of canonical text only in the common
 * cases and calls anything else not canonical: any \u escape or `\/`, a number that is not a short
 * integer unless String(Number(text)) gives it back, a key of digits only, a key repeated, or
 * more than MAX_CHECKED_KEYS keys in one object. A value called not canonical is parsed and
 * stringified as before, so the guess costs time, never bytes.
 *
 * What it does not check: that the bytes are UTF-8 (the caller checks the whole body once).
 * A scanner serves one body, on one thread, and is dropped after it.
 */
import { MAX_JSON_DEPTH } from '../limits/json-depth.js';

/** What a scanned value is; 0 (NOT_JSON) when the bytes are not JSON or nest too deeply. */
export const NOT_JSON = 0;
export const STRING = 1;
/** A string with at least one escape. */
export const STRING_ESCAPED = 2;
export const NUMBER = 3;
export const LITERAL = 4;
export const NULL = 5;
export const OBJECT = 6;
export const ARRAY = 7;

/** Past this many keys in one object, repeats are not looked for and the object is not canonical. */
const MAX_CHECKED_KEYS = 32;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

export class JsonScanner {
  readonly bytes: Uint8Array;
  readonly end: number;
  /** Where the next byte to read is. */
  pos: number;
  /** Cleared by the scan of a value whose text is not (or might not be) canonical; the caller sets it before. */
  canonical = true;
  /** Start and end of the keys of the objects being scanned, innermost last (repeat checks). */
  #keys = new Int32Array(64);
  #keyTop = 0;

  constructor(bytes: Uint8Array, start: number) {
    this.bytes = bytes;
    this.end = bytes.length;
    this.pos = start;
  }

  /** Skips JSON whitespace; whether there was any. */
  ws(): boolean {
    const b = this.bytes;
    const start = this.pos;
    let p = start;
    while (p < this.end) {
      const c = b[p];
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      p++;
    }
    this.pos = p;
    return p !== start;
  }

  /** The byte at pos, or -1 at the end. */
  peek(): number {
    return this.pos < this.end ? this.bytes[this.pos] : -1;
  }

  /**
   * Scans the value at pos, inside `depth` levels of arrays and objects; leaves pos after it.
   * Returns its kind, or NOT_JSON if it is not JSON or nests past MAX_JSON_DEPTH.
   */
  value(depth: number): number {
    if (this.pos >= this.end) return NOT_JSON;
    const c = this.bytes[this.pos];
    if (c === QUOTE) return this.string();
    if (c === 0x7b) return this.#object(depth + 1);
    if (c === 0x5b) return this.#array(depth + 1);
    if (c === 0x2d || isDigit(c)) return this.#number();
    if (c === 0x74) return this.#word(0x72, 0x75, 0x65, -1) ? LITERAL : NOT_JSON; // true
    if (c === 0x66) return this.#word(0x61, 0x6c, 0x73, 0x65) ? LITERAL : NOT_JSON; // false
    if (c === 0x6e) return this.#word(0x75, 0x6c, 0x6c, -1) ? NULL : NOT_JSON; // null
    return NOT_JSON;
  }

  /** Scans the string at pos (its opening quote): STRING, STRING_ESCAPED or NOT_JSON. */
  string(): number {
    const b = this.bytes;
    const end = this.end;
    let p = this.pos + 1;
    let kind = STRING;
    while (p < end) {
      const c = b[p];
      if (c === QUOTE) {
        this.pos = p + 1;
        return kind;
      }
      if (c === BACKSLASH) {
        if (p + 1 >= end) return NOT_JSON;
        kind = STRING_ESCAPED;
        const e = b[p + 1];
        if (e === 0x75) {
          // \u and four hex digits: JSON.stringify writes most of these as the character itself
          if (p + 5 >= end || !isHex(b[p + 2]) || !isHex(b[p + 3]) || !isHex(b[p + 4]) || !isHex(b[p + 5])) return NOT_JSON;
          this.canonical = false;
          p += 6;
          continue;
        }
        if (e === 0x2f) this.canonical = false; // "\/" comes back as "/"
        else if (e !== QUOTE && e !== BACKSLASH && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) return NOT_JSON;
        p += 2;
        continue;
      }
      if (c < 0x20) return NOT_JSON;
      p++;
    }
    return NOT_JSON;
  }

  #word(c1: number, c2: number, c3: number, c4: number): boolean {
    const b = this.bytes;
    const p = this.pos;
    const n = c4 === -1 ? 4 : 5;
    if (p + n > this.end || b[p + 1] !== c1 || b[p + 2] !== c2 || b[p + 3] !== c3 || (c4 !== -1 && b[p + 4] !== c4)) return false;
    this.pos = p + n;
    return true;
  }

  #number(): number {
    const b = this.bytes;
    const end = this.end;
    const start = this.pos;
    let p = start;
    if (b[p] === 0x2d) p++;
    if (p >= end) return NOT_JSON;
    if (b[p] === 0x30) p++;
    else if (isDigit(b[p])) while (p < end && isDigit(b[p])) p++;
    else return NOT_JSON;
    let integer = true;
    if (p < end && b[p] === 0x2e) {
      p++;
      if (p >= end || !isDigit(b[p])) return NOT_JSON;
      while (p < end && isDigit(b[p])) p++;
      integer = false;
    }
    if (p < end && (b[p] === 0x65 || b[p] === 0x45)) {
      p++;
      if (p < end && (b[p] === 0x2b || b[p] === 0x2d)) p++;
      if (p >= end || !isDigit(b[p])) return NOT_JSON;
      while (p < end && isDigit(b[p])) p++;
      integer = false;
    }
    this.pos = p;
    // up to 15 digits an integer is exact and printed as written, except -0 (printed 0)
    if (this.canonical && (!integer || p - start > 15 || (b[start] === 0x2d && b[start + 1] === 0x30))) {
      const text = latin1(b, start, p);
      if (String(Number(text)) !== text) this.canonical = false;
    }
    return NUMBER;
  }

  #object(depth: number): number {
    if (depth > MAX_JSON_DEPTH) return NOT_JSON;
    this.pos++;
    if (this.ws()) this.canonical = false;
    if (this.peek() === 0x7d) {
      this.pos++;
      return OBJECT;
    }
    const base = this.#keyTop;
    for (;;) {
      if (this.peek() !== QUOTE) return NOT_JSON;
      const keyStart = this.pos + 1;
      const kind = this.string();
      if (kind === NOT_JSON) return NOT_JSON;
      if (this.canonical) this.#checkKey(base, keyStart, this.pos - 1);
      if (this.ws()) this.canonical = false;
      if (this.peek() !== 0x3a) return NOT_JSON;
      this.pos++;
      if (this.ws()) this.canonical = false;
      if (this.value(depth) === NOT_JSON) return NOT_JSON;
      if (this.ws()) this.canonical = false;
      const c = this.peek();
      this.pos++;
      if (c === 0x7d) break;
      if (c !== 0x2c) return NOT_JSON;
      if (this.ws()) this.canonical = false;
    }
    this.#keyTop = base;
    return OBJECT;
  }

  /** Clears `canonical` for a key JSON.stringify would move (an array index) or drop (a repeat). */
  #checkKey(base: number, start: number, end: number): void {
    const b = this.bytes;
    let digits = true;
    for (let p = start; p < end && digits; p++) digits = isDigit(b[p]);
    if (digits && end > start) {
      this.canonical = false;
      return;
    }
    const top = this.#keyTop;
    if (top - base >= 2 * MAX_CHECKED_KEYS) {
      this.canonical = false;
      return;
    }
    const n = end - start;
    for (let k = base; k < top; k += 2) {
      const s = this.#keys[k];
      if (this.#keys[k + 1] - s !== n) continue;
      let same = true;
      for (let j = 0; j < n && same; j++) same = b[s + j] === b[start + j];
      if (same) {
        this.canonical = false;
        return;
      }
    }
    if (top + 2 > this.#keys.length) {
      const grown = new Int32Array(this.#keys.length * 2);
      grown.set(this.#keys);
      this.#keys = grown;
    }
    this.#keys[top] = start;
    this.#keys[top + 1] = end;
    this.#keyTop = top + 2;
  }

  #array(depth: number): number {
    if (depth > MAX_JSON_DEPTH) return NOT_JSON;
    this.pos++;
    if (this.ws()) this.canonical = false;
    if (this.peek() === 0x5d) {
      this.pos++;
      return ARRAY;
    }
    for (;;) {
      if (this.value(depth) === NOT_JSON) return NOT_JSON;
      if (this.ws()) this.canonical = false;
      const c = this.peek();
      this.pos++;
      if (c === 0x5d) return ARRAY;
      if (c !== 0x2c) return NOT_JSON;
      if (this.ws()) this.canonical = false;
    }
  }
}

/** Bytes known to be ASCII as a string. */
export function latin1(b: Uint8Array, start: number, end: number): string {
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1');
}
