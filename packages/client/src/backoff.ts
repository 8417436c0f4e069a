/**
 * Exponential backoff with full jitter (a random wait between 0 and min(max, base * 2^attempt)),
 * which spreads the retries of many clients after a broker restart instead of having them arrive
 * together.
 */
import { WebkaError } from './errors.js';

export interface BackoffOptions {
  /** First ceiling in ms (default 100). */
  retryBackoffMs?: number;
  /** Largest ceiling in ms (default 5,000). */
  retryBackoffMaxMs?: number;
}

export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const base = opts.retryBackoffMs ?? 100;
  const max = opts.retryBackoffMaxMs ?? 5_000;
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 30));
  // Never 0: a tight loop against a down broker helps nobody.
  return Math.max(base / 4, Math.random() * ceiling);
}

export interface RetryOptions extends BackoffOptions {
  /** How long one attempt may wait for its answer. */
  requestTimeoutMs: number;
  /** Named in the error when the deadline passes. */
  deliveryTimeoutMs: number;
}

/**
 * Runs one call until it answers, retrying retriable failures (WebkaError.retriable) with backoff
 * until the deadline, then failing with TIMEOUT; other failures are thrown at once.
 */
export async function retryUntil<T>(deadline: number, opts: RetryOptions, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call(AbortSignal.timeout(opts.requestTimeoutMs));
    } catch (err) {
      const e = err instanceof WebkaError ? err : new WebkaError('NETWORK_ERROR', String(err), { cause: err });
      if (!e.retriable) throw e;
      const wait = backoffDelay(attempt, opts);
      if (Date.now() + wait >= deadline) {
        throw new WebkaError('TIMEOUT', `not delivered within deliveryTimeoutMs (${opts.deliveryTimeoutMs} ms); last error: ${e.code}: ${e.message}`, { cause: e });
      }
      await sleep(wait);
    }
  }
}

export interface RetryBudgetOptions {
  /** How long failures may repeat, with no request answered, before they are reported (default 30 s). */
  retryBudgetMs?: number;
  /**
   * Called with the last error when failures have repeated for retryBudgetMs (and again after each
   * further retryBudgetMs); the reader keeps retrying. Without it, the iteration throws that error.
   */
  onError?: (error: WebkaError) => void;
}

/**
 * How long a reader's retries have gone unanswered: a reader that retries forever in silence is
 * a page that shows nothing, so repeated failures are reported once they outlast the budget.
 */
export class RetryBudget {
  readonly #opts: RetryBudgetOptions;
  readonly #reader: string;
  #failingSince: number | undefined;

  constructor(opts: RetryBudgetOptions, reader: string) {
    this.#opts = opts;
    this.#reader = reader;
  }

  /** An answer came: the failures, if any, are over. */
  answered(): void {
    this.#failingSince = undefined;
  }

  /** Counts a retriable failure; past the budget, hands it to onError or throws it. */
  failed(e: WebkaError): void {
    this.#failingSince ??= Date.now();
    const failingFor = Date.now() - this.#failingSince;
    if (failingFor < (this.#opts.retryBudgetMs ?? 30_000)) return;
    const reported = new WebkaError(e.code, `the ${this.#reader} kept failing for ${failingFor} ms of retries (retryBudgetMs); last error: ${e.message}`, { status: e.status, retriable: e.retriable, details: e.details, cause: e });
    if (this.#opts.onError === undefined) throw reported;
    this.#opts.onError(reported);
    this.#failingSince = Date.now();
  }
}

/** Resolves after ms, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
