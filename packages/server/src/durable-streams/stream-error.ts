/**
 * A refusal on a Durable Streams route. The protocol fixes statuses and headers (Stream-Closed,
 * Producer-Epoch, Producer-Expected-Seq, ...), not Webka's JSON error shape, so these routes
 * answer with the status, the headers and a one-line text/plain message.
 */
export class StreamError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'StreamError';
    this.status = status;
    this.headers = headers;
  }
}
