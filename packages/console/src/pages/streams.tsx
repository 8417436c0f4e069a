/**
 * Durable Streams: every stream the principal may see, with content type, TTL, tail offset and
 * state; and one stream, read from an offset a page at a time or followed live over SSE, through
 * the protocol's own routes (so a fork reads through its source).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { DurableStreamFollower, StreamChunk } from '@webka/client';
import { session } from '../session.js';
import { href } from '../router.js';
import { useLoad } from '../use-load.js';
import { base64ToHex, count, time } from '../format.js';
import { ErrorNote, Loading, Title } from '../components/ui.js';

/** Entries the stream page keeps (oldest dropped first): JSON values, or text and binary chunks. */
export const STREAM_ENTRY_CAP = 1000;

interface Entry {
  id: number;
  text: string;
}

let nextId = 0;
/** A chunk as lines to show: each JSON value on its own, text as it is, binary as hex. */
function entries(c: StreamChunk): Entry[] {
  if (c.encoding === 'json') return (c.data as unknown[]).map((v) => ({ id: nextId++, text: JSON.stringify(v) }));
  const data = c.data as string;
  if (data === '') return [];
  return [{ id: nextId++, text: c.encoding === 'base64' ? base64ToHex(data) : data }];
}

const capped = (old: Entry[], more: Entry[]): Entry[] => {
  const all = old.concat(more);
  return all.length > STREAM_ENTRY_CAP ? all.slice(all.length - STREAM_ENTRY_CAP) : all;
};

function Entries({ list, label }: { list: Entry[]; label: string }) {
  return (
    <ol class="stream-entries" aria-label={label}>
      {list.map((e) => (
        <li key={e.id}>
          <pre class="value">{e.text}</pre>
        </li>
      ))}
    </ol>
  );
}

function Read({ path }: { path: string }) {
  const [offset, setOffset] = useState('-1');
  const [list, setList] = useState<Entry[] | undefined>();
  const [last, setLast] = useState<StreamChunk | undefined>();
  const [error, setError] = useState<unknown>();
  const read = async (from: string, more: boolean) => {
    setError(undefined);
    try {
      const c = await session.value!.webka().durableStream(path).read({ offset: from.trim() === '' ? '-1' : from.trim() });
      setList((old) => capped(more ? (old ?? []) : [], entries(c)));
      setLast(c);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section aria-label="Read">
      <form
        class="inline-form"
        aria-label="Read stream"
        onSubmit={(e) => {
          e.preventDefault();
          void read(offset, false);
        }}
      >
        <label>
          From offset
          <input name="offset" value={offset} onInput={(e) => setOffset(e.currentTarget.value)} placeholder="-1 (the start)" />
        </label>
        <button type="submit">Read</button>
        <button type="button" disabled={last === undefined || last.upToDate} onClick={() => last !== undefined && void read(last.nextOffset, true)}>
          Read more
        </button>
        <ErrorNote error={error} />
      </form>
      {last !== undefined && (
        <p class="muted" data-testid="read-status">
          {count(list?.length ?? 0)} shown, next offset <code>{last.nextOffset}</code>
          {last.closed ? ', the stream is closed and read to its end' : last.upToDate ? ', up to date' : ', more to read'}
        </p>
      )}
      {list !== undefined && list.length === 0 && <p class="muted">Nothing there.</p>}
      {list !== undefined && list.length > 0 && <Entries list={list} label="Stream contents" />}
    </section>
  );
}

function Follow({ path }: { path: string }) {
  const [from, setFrom] = useState<'now' | '-1'>('now');
  const [list, setList] = useState<Entry[]>([]);
  const [state, setState] = useState<'stopped' | 'following' | 'closed'>('stopped');
  const [offset, setOffset] = useState('');
  const [error, setError] = useState<unknown>();
  const follower = useRef<DurableStreamFollower | undefined>(undefined);
  useEffect(() => () => follower.current?.close(), []);
  const start = () => {
    setError(undefined);
    setList([]);
    const f = session.value!.webka().durableStream(path).follow({ offset: from });
    follower.current = f;
    setState('following');
    void (async () => {
      try {
        for await (const c of f) {
          const more = entries(c);
          if (more.length > 0) setList((old) => capped(old, more));
          setOffset(c.nextOffset);
          if (c.closed) setState('closed');
        }
      } catch (err) {
        if ((err as { code?: string }).code !== 'CLOSED') setError(err);
      } finally {
        if (follower.current === f) setState((s) => (s === 'closed' ? s : 'stopped'));
      }
    })();
  };
  const stop = () => {
    follower.current?.close();
    follower.current = undefined;
    setState('stopped');
  };
  return (
    <section aria-label="Follow">
      <div class="toolbar">
        {state === 'following' ? (
          <button type="button" onClick={stop}>
            Stop following
          </button>
        ) : (
          <>
            <label class="row-label">
              From
              <select name="from" value={from} onChange={(e) => setFrom(e.currentTarget.value as 'now' | '-1')}>
                <option value="now">now on</option>
                <option value="-1">the start</option>
              </select>
            </label>
            <button type="button" onClick={start}>
              Follow
            </button>
          </>
        )}
        <span class="muted" data-testid="follow-status" aria-live="polite">
          {state}, {count(list.length)} shown{offset !== '' ? `, at ${offset}` : ''}
        </span>
      </div>
      <ErrorNote error={error} />
      {list.length > 0 && <Entries list={list} label="Followed contents" />}
    </section>
  );
}

export function StreamPage({ path }: { path: string }) {
  const streams = useLoad(() => session.value!.webka().admin().listStreams(), [], 10_000);
  const s = streams.data?.find((x) => x.path === path);
  return (
    <>
      <Title>
        <a href={href.streams()}>Durable Streams</a> / {path}
      </Title>
      <ErrorNote error={streams.error} />
      <Loading when={streams.loading && streams.data === undefined} />
      {streams.data !== undefined && s === undefined && <p class="error">No stream at this path that you may see.</p>}
      {s !== undefined && (
        <>
          <p>
            <code>{s.contentType}</code>, tail offset <code data-testid="tail-offset">{s.tailOffset}</code>, {s.closed ? 'closed' : 'open'}
            {s.ttlSeconds !== null ? `, TTL ${s.ttlSeconds}s` : s.expiresAt !== null ? `, expires ${s.expiresAt}` : ''}, topic <code>{s.topic}</code> in cluster streams
          </p>
          <h2>Read</h2>
          <Read path={path} />
          <h2>Follow</h2>
          <Follow path={path} />
        </>
      )}
    </>
  );
}

export function StreamsPage() {
  const streams = useLoad(() => session.value!.webka().admin().listStreams(), [], 10_000);
  return (
    <>
      <Title>Durable Streams</Title>
      <ErrorNote error={streams.error} />
      <Loading when={streams.loading && streams.data === undefined} />
      {streams.data?.length === 0 && <p class="muted">No streams yet (PUT /v1/stream/&lt;path&gt; creates one).</p>}
      {streams.data !== undefined && streams.data.length > 0 && (
        <table class="grid" aria-label="Streams">
          <thead>
            <tr>
              <th scope="col">Path</th>
              <th scope="col">Content type</th>
              <th scope="col">TTL</th>
              <th scope="col">Tail offset</th>
              <th scope="col">State</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {streams.data.map((s) => (
              <tr key={s.path}>
                <td>
                  <a href={href.stream(s.path)}>
                    <code>{s.path}</code>
                  </a>
                </td>
                <td>{s.contentType}</td>
                <td>{s.ttlSeconds === null ? (s.expiresAt ?? 'none') : `${s.ttlSeconds}s`}</td>
                <td>
                  <code>{s.tailOffset}</code>
                </td>
                <td>{s.closed ? 'closed' : 'open'}</td>
                <td>{time(s.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
