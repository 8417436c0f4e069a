// snappyjs ships no types; the one function codecs.ts uses.
declare module 'snappyjs' {
  export function uncompress(data: Buffer, maxLength?: number): Buffer;
}
