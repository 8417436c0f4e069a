/**
 * CRC-32C for the broker: the portable slicing-by-8 tables live in @webka/protocol (shared with
 * the SDK, which builds batches in browsers); here `crc32c` hands ranges longer than
 * NATIVE_MIN_BYTES to `@node-rs/crc32` (a prebuilt addon using the CPU's CRC32 instruction,
 * several GB/s, shipped inside its npm package) when it loads, and uses the portable tables
 * otherwise; both give identical results (test/unit/crc32c.test.ts).
 */
import { createRequire } from 'node:module';
import { crc32cPortable } from '@webka/protocol';

export { crc32cPortable };

type NativeCrc = (input: Uint8Array, initialState?: number) => number;

function loadNative(): NativeCrc | null {
  if (process.env.WEBKA_PORTABLE_CRC === '1') return null;
  try {
    const mod = createRequire(import.meta.url)('@node-rs/crc32') as { crc32c?: NativeCrc };
    const fn = mod.crc32c;
    // trust the addon only if it agrees with the tables on a known vector
    return typeof fn === 'function' && fn(Buffer.from('123456789')) === 0xe3069283 ? fn : null;
  } catch {
    return null;
  }
}

const native = loadNative();
/** Below this many bytes the call into the addon costs more than the tables. */
const NATIVE_MIN_BYTES = 256;

/** True when the hardware-accelerated addon is in use (reported by the benchmark). */
export const crc32cIsNative = native !== null;

export function crc32c(buf: Uint8Array, start = 0, end = buf.length, seed = 0): number {
  if (native !== null && end - start >= NATIVE_MIN_BYTES) {
    return native(start === 0 && end === buf.length ? buf : buf.subarray(start, end), seed) >>> 0;
  }
  return crc32cPortable(buf, start, end, seed);
}
