/**
 * A value that components follow: setting `.value` re-renders every component that read it with
 * `useValue`. Enough for the console's few pieces of global state (session, route, theme), so
 * the bundle carries no state library.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Signal<T> {
  value: T;
  subscribe(fn: (v: T) => void): () => void;
}

export function signal<T>(initial: T): Signal<T> {
  let current = initial;
  const subscribers = new Set<(v: T) => void>();
  return {
    get value() {
      return current;
    },
    set value(v: T) {
      if (Object.is(v, current)) return;
      current = v;
      for (const fn of [...subscribers]) fn(v);
    },
    subscribe(fn) {
      subscribers.add(fn);
      return () => subscribers.delete(fn);
    },
  };
}

export function useValue<T>(s: Signal<T>): T {
  const [, setTick] = useState(0);
  useEffect(() => s.subscribe(() => setTick((n) => n + 1)), [s]);
  return s.value;
}
