/**
 * Exponential backoff with full jitter (a random wait between 0 and min(max, base * 2^attempt)),
 * which spreads the retries of many clients after a broker restart instead of having them arrive
 * together.
 */
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
