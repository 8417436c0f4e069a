// snappyjs ships no types; the functions codecs.ts uses.
declare module 'snappyjs' {
  export function uncompress(data: Buffer, maxLength?: number): Buffer;
  export function compress(data: Buffer): Buffer;
}
