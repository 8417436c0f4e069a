/**
 * Content negotiation for streams: whether a request's Accept header asks for
 * `text/event-stream`. The media range must name it (wildcards keep the plain JSON answer, which
 * is what `*\/*` clients such as curl expect) with a quality above 0: `q=0` means "not this"
 * (RFC 9110 12.4.2), so `Accept: text/event-stream;q=0` gets JSON, never a stream.
 */
const EVENT_STREAM = 'text/event-stream';

export function acceptsEventStream(accept: string | string[] | undefined): boolean {
  if (accept === undefined) return false;
  const text = Array.isArray(accept) ? accept.join(',') : accept;
  if (!text.toLowerCase().includes(EVENT_STREAM)) return false;
  for (const range of text.split(',')) {
    const [type, ...params] = range.split(';');
    if (type.trim().toLowerCase() !== EVENT_STREAM) continue;
    let q = 1;
    for (const p of params) {
      const [k, v] = p.split('=');
      if (k.trim().toLowerCase() === 'q') q = Number(v?.trim());
    }
    if (q > 0) return true;
  }
  return false;
}
