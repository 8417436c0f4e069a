/**
 * A WebSocket test client for /v1/ws: collects every frame, answers `request()` by request id,
 * and waits for pushed frames by predicate.
 */
import WebSocket from 'ws';

export class WsClient {
  readonly frames: any[] = [];
  readonly ws: WebSocket;
  closeCode: number | null = null;
  #waiters: Array<() => void> = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()));
      this.#wake();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.#wake();
    });
  }

  /** Opens /v1/ws; `headers` go on the upgrade request (Authorization, Cookie, Origin), `query` after "?". */
  static connect(baseUrl: string, headers: Record<string, string> = {}, query = ''): Promise<WsClient> {
    const ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + '/v1/ws' + (query === '' ? '' : `?${query}`), { headers });
    const client = new WsClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  /** Connects expecting a refusal; resolves with the HTTP status and body of the answer. */
  static refused(baseUrl: string, headers: Record<string, string> = {}, query = ''): Promise<{ status: number; body: any }> {
    const ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + '/v1/ws' + (query === '' ? '' : `?${query}`), { headers });
    return new Promise((resolve, reject) => {
      ws.once('open', () => reject(new Error('the upgrade was accepted')));
      ws.once('error', () => undefined);
      ws.once('unexpected-response', (_req, res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
    });
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const fn of w) fn();
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  async waitFor(pred: (f: any) => boolean, timeoutMs = 5000, what = 'a frame'): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.frames.find(pred);
      if (hit !== undefined) return hit;
      if (this.closeCode !== null) throw new Error(`socket closed (${this.closeCode}) before ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends a request and resolves with the answer carrying its id (whatever its type). */
  request(frame: { id: string | number; [k: string]: unknown }, timeoutMs = 5000): Promise<any> {
    this.send(frame);
    return this.waitFor((f) => f.id === frame.id && f.type !== undefined, timeoutMs, `the answer to ${frame.id}`);
  }

  /** Records pushed to a subscription so far, flattened, with the frame's partition. */
  records(subscription: string): any[] {
    return this.frames.filter((f) => f.type === 'records' && f.subscription === subscription).flatMap((f) => f.records.map((r: any) => ({ partition: f.partition, ...r })));
  }

  async waitClose(timeoutMs = 5000): Promise<number> {
    await this.waitFor(() => false, timeoutMs, 'close').catch(() => undefined);
    if (this.closeCode === null) throw new Error('socket did not close');
    return this.closeCode;
  }

  close(): void {
    this.ws.close();
  }
}
