/**
 * Messages of one topic: browse a partition from an offset, the latest N or a time; follow the
 * whole topic live over SSE (TopicFollower) with pause and a cap on the rows kept; a filter by key
 * or by text (key, value, headers) over the rows loaded or followed, and Search, which asks the
 * broker for the records that match it (a fetch with match=, resumed by Search on); and produce a
 * record from a form that shows where it was written. A row opens the record in full beside the
 * list (RecordDetail: JSON as a tree, text, binary as hex or base64).
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { TopicFollower } from '@webka/client';
import { session } from '../session.js';
import { href } from '../router.js';
import { useLoad } from '../use-load.js';
import { count, preview, time } from '../format.js';
import { ErrorNote, Loading, Title } from '../components/ui.js';
import { RecordDetail, type ShownRecord } from '../components/value-view.js';
import { VirtualList } from '../components/virtual-list.js';

/** Most records one browse asks for. */
export const BROWSE_LIMIT = 100;
/** Records the broker looks through per Search (and per Search on). */
const SEARCH_SCAN = 10_000;

/** A Search's progress: what it looks for and where, records looked through, where to search on, the partition's end. */
interface Searched {
  text: string;
  in: RecordFilter['in'];
  scanned: number;
  next: number;
  end: number;
  /** Latest N: the records of the N left to look through. */
  span: number | undefined;
}
/** Rows the live tail keeps unless the user picks another cap (oldest dropped first). */
export const DEFAULT_TAIL_CAP = 1000;
const ROW_HEIGHT = 28;

type From = 'earliest' | 'latest-n' | 'offset' | 'timestamp';

/** Which rows to show: those whose key (in: 'key'), or key, value or headers (in: 'any') contain `text`, ignoring case. */
export interface RecordFilter {
  text: string;
  in: 'key' | 'any';
}

/** Each record's text for 'any', made once (a live tail filters every frame). */
const searchable = new WeakMap<ShownRecord, string>();

export function matches(r: ShownRecord, f: RecordFilter): boolean {
  const q = f.text.trim().toLowerCase();
  if (q === '') return true;
  if (f.in === 'key') return (r.key ?? '').toLowerCase().includes(q);
  let text = searchable.get(r);
  if (text === undefined) {
    const value = typeof r.value === 'string' ? r.value : JSON.stringify(r.value);
    text = [r.key ?? '', value, ...Object.entries(r.headers).map(([k, v]) => `${k}=${v ?? ''}`)].join('\n').toLowerCase();
    searchable.set(r, text);
  }
  return text.includes(q);
}

const filtering = (f: RecordFilter): boolean => f.text.trim() !== '';

function FilterBar({ filter, onChange }: { filter: RecordFilter; onChange: (f: RecordFilter) => void }) {
  return (
    <div class="toolbar" role="search" aria-label="Filter records">
      <label class="row-label">
        Filter
        <input type="search" name="filter" placeholder="text to look for" value={filter.text} onInput={(e) => onChange({ ...filter, text: e.currentTarget.value })} />
      </label>
      <label class="row-label">
        In
        <select name="filterIn" value={filter.in} onChange={(e) => onChange({ ...filter, in: e.currentTarget.value as RecordFilter['in'] })}>
          <option value="any">key, value and headers</option>
          <option value="key">key</option>
        </select>
      </label>
      <span class="muted">applies to the records loaded and followed below; Search asks the broker to look through the partition</span>
    </div>
  );
}

function RecordRow({ r, onOpen, selected }: { r: ShownRecord; onOpen: (r: ShownRecord) => void; selected: boolean }) {
  return (
    <button type="button" class={`record-row${selected ? ' selected' : ''}`} onClick={() => onOpen(r)} data-record={`${r.partition}/${r.offset}`}>
      {/* the accessible name starts "Record p/o" and goes on with the text shown (WCAG 2.5.3) */}
      <span class="visually-hidden">Record {r.partition}/{r.offset}</span>
      <span class="num">{r.partition}</span>
      <span class="num">{r.offset}</span>
      <span class="muted">{time(r.timestamp)}</span>
      <span class="key">{r.key ?? ''}</span>
      <span class="value">{preview(r.value, r.valueEncoding)}</span>
    </button>
  );
}

/** A partition picker: 0 to partitions-1, and "by key" (value '') when `byKey`. */
function PartitionSelect({ partitions, value, onChange, byKey }: { partitions: number; value: string; onChange: (v: string) => void; byKey?: boolean }) {
  return (
    <label>
      Partition
      <select name="partition" value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {byKey === true && <option value="">by key</option>}
        {Array.from({ length: partitions }, (_, i) => (
          <option key={i} value={String(i)}>
            {i}
          </option>
        ))}
      </select>
    </label>
  );
}

function Browse({ cluster, topic, partitions, onOpen, open, filter }: { cluster: string; topic: string; partitions: number; onOpen: (r: ShownRecord) => void; open: ShownRecord | undefined; filter: RecordFilter }) {
  const [partition, setPartition] = useState(0);
  const [from, setFrom] = useState<From>('latest-n');
  const [n, setN] = useState('20');
  const [error, setError] = useState<unknown>();
  const [rows, setRows] = useState<ShownRecord[] | undefined>();
  const [searched, setSearched] = useState<Searched | undefined>();
  /** Where the form says to start, and how many records that covers (latest N: N, at most `cap`). */
  const start = async (cap: number): Promise<{ offset?: number | 'earliest'; timestamp?: number; span?: number }> => {
    const num = Number(n);
    if (from === 'earliest') return { offset: 'earliest' };
    if (from === 'offset') return { offset: num };
    if (from === 'timestamp') {
      const timestamp = Date.parse(n);
      if (Number.isNaN(timestamp)) throw new Error('Give the time as an ISO date, e.g. 2026-01-31T12:00:00Z');
      return { timestamp };
    }
    const o = await session.value!.webka(cluster).admin().listOffsets(topic, partition);
    const span = Math.min(Math.max(1, num), cap);
    return { offset: Math.max(o.earliest, o.latest - span), span };
  };
  const load = async () => {
    setError(undefined);
    try {
      const { span, ...at } = await start(BROWSE_LIMIT);
      const got = await session.value!.webka(cluster).fetchRecords(topic, partition, { ...at, maxRecords: Math.min(span ?? BROWSE_LIMIT, BROWSE_LIMIT) });
      setSearched(undefined);
      setRows(got.records.map((r) => ({ ...r, partition })));
    } catch (err) {
      setError(err);
    }
  };
  /** Asks the broker for the records that match the filter from the form's start, or goes on with the search `on` (its own text, wherever the filter is now). */
  const search = async (on?: Searched) => {
    setError(undefined);
    try {
      const { span, ...at } = on === undefined ? await start(Number.MAX_SAFE_INTEGER) : { offset: on.next, span: on.span };
      const maxScan = Math.min(span ?? SEARCH_SCAN, SEARCH_SCAN);
      const text = on?.text ?? filter.text.trim();
      const where = on?.in ?? filter.in;
      const got = await session.value!.webka(cluster).fetchRecords(topic, partition, { ...at, maxRecords: BROWSE_LIMIT, match: text, matchIn: where, maxScan });
      const found = got.records.map((r) => ({ ...r, partition }));
      setRows(on === undefined ? found : [...(rows ?? []), ...found]);
      setSearched({
        text,
        in: where,
        scanned: (on?.scanned ?? 0) + (got.scanned ?? 0),
        next: got.nextOffset,
        end: got.highWatermark,
        // latest N looks through those N only; the other starts look on
        span: span === undefined ? undefined : Math.max(0, span - (got.scanned ?? 0)),
      });
    } catch (err) {
      setError(err);
    }
  };
  const more = searched !== undefined && searched.next < searched.end && searched.span !== 0;
  return (
    <section aria-label="Browse">
      <form
        class="inline-form"
        aria-label="Browse records"
        onSubmit={(e) => {
          e.preventDefault();
          void load();
        }}
      >
        <PartitionSelect partitions={partitions} value={String(partition)} onChange={(v) => setPartition(Number(v))} />
        <label>
          From
          <select name="from" value={from} onChange={(e) => setFrom(e.currentTarget.value as From)}>
            <option value="latest-n">latest N</option>
            <option value="earliest">earliest</option>
            <option value="offset">offset</option>
            <option value="timestamp">time</option>
          </select>
        </label>
        {from !== 'earliest' && (
          <label>
            {from === 'latest-n' ? 'N' : from === 'offset' ? 'Offset' : 'Time (ISO)'}
            <input name="position" value={n} onInput={(e) => setN(e.currentTarget.value)} required />
          </label>
        )}
        <button type="submit">Load</button>
        <button type="button" disabled={!filtering(filter)} title="Look through the partition for the filter's text (the broker searches)" onClick={() => void search()}>
          Search
        </button>
        <ErrorNote error={error} />
      </form>
      {searched !== undefined && (
        <p class="muted" data-testid="search-status">
          {count(rows?.length ?? 0)} {rows?.length === 1 ? 'record' : 'records'} with "{searched.text}" among {count(searched.scanned)} searched by the broker,{' '}
          {more ? `up to offset ${searched.next - 1}` : 'to the end'}
          {more && (
            <>
              {' '}
              <button type="button" onClick={() => void search(searched)}>
                Search on
              </button>
            </>
          )}
        </p>
      )}
      {rows !== undefined && searched === undefined && filtering(filter) && (
        <p class="muted" data-testid="browse-matches">
          {count(rows.filter((r) => matches(r, filter)).length)} of {count(rows.length)} loaded records match the filter
        </p>
      )}
      {rows !== undefined && (
        <div class="records" role="list" aria-label="Records">
          {rows.length === 0 && <p class="muted">No records there.</p>}
          {rows.filter((r) => matches(r, filter)).map((r) => (
            <div role="listitem" key={`${r.partition}/${r.offset}`}>
              <RecordRow r={r} onOpen={onOpen} selected={open === r} />
            </div>
          ))}
        </div>
      )}
    </section>
  );
}

function LiveTail({ cluster, topic, onOpen, open, filter }: { cluster: string; topic: string; onOpen: (r: ShownRecord) => void; open: ShownRecord | undefined; filter: RecordFilter }) {
  const [rows, setRows] = useState<ShownRecord[]>([]);
  const [running, setRunning] = useState(false);
  const [paused, setPaused] = useState(false);
  const [cap, setCap] = useState(DEFAULT_TAIL_CAP);
  const [startAt, setStartAt] = useState<'latest' | 'earliest'>('latest');
  const [received, setReceived] = useState(0);
  const [error, setError] = useState<unknown>();
  const follower = useRef<TopicFollower | undefined>(undefined);
  const pending = useRef<ShownRecord[]>([]);
  const total = useRef(0);
  const pausedRef = useRef(false);
  const capRef = useRef(cap);
  capRef.current = cap;
  pausedRef.current = paused;

  // Records arrive faster than frames: they are gathered and shown once per animation frame.
  useEffect(() => {
    if (!running) return;
    let frame = 0;
    const tick = () => {
      if (!pausedRef.current && pending.current.length > 0) {
        const batch = pending.current;
        pending.current = [];
        setRows((old) => {
          const next = old.concat(batch);
          return next.length > capRef.current ? next.slice(next.length - capRef.current) : next;
        });
      }
      setReceived(total.current);
      frame = requestAnimationFrame(tick);
    };
    frame = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(frame);
  }, [running]);

  useEffect(() => () => follower.current?.close(), []);

  const start = () => {
    setError(undefined);
    setRows([]);
    pending.current = [];
    total.current = 0;
    const f = session.value!.webka(cluster).followTopic({ topic, from: startAt });
    follower.current = f;
    setRunning(true);
    setPaused(false);
    void (async () => {
      try {
        for await (const r of f) {
          total.current++;
          pending.current.push(r);
          // while paused nothing is shown, and no more than the cap is held for later
          if (pending.current.length > capRef.current) pending.current.splice(0, pending.current.length - capRef.current);
        }
      } catch (err) {
        if ((err as { code?: string }).code !== 'CLOSED') setError(err);
      } finally {
        if (follower.current === f) setRunning(false);
      }
    })();
  };
  const visible = useMemo(() => (filtering(filter) ? rows.filter((r) => matches(r, filter)) : rows), [rows, filter]);
  const stop = () => {
    follower.current?.close();
    follower.current = undefined;
    setRunning(false);
  };

  return (
    <section aria-label="Live tail">
      <div class="toolbar">
        {running ? (
          <>
            <button type="button" onClick={() => setPaused(!paused)}>
              {paused ? 'Resume' : 'Pause'}
            </button>
            <button type="button" onClick={stop}>
              Stop
            </button>
          </>
        ) : (
          <>
            <label class="row-label">
              From
              <select name="startAt" value={startAt} onChange={(e) => setStartAt(e.currentTarget.value as 'latest' | 'earliest')}>
                <option value="latest">now on</option>
                <option value="earliest">the beginning</option>
              </select>
            </label>
            <button type="button" onClick={start}>
              Start live tail
            </button>
          </>
        )}
        <label class="row-label">
          Keep
          <select name="cap" value={String(cap)} onChange={(e) => setCap(Number(e.currentTarget.value))}>
            {[100, 1000, 10000].map((v) => (
              <option key={v} value={String(v)}>
                {count(v)} rows
              </option>
            ))}
          </select>
        </label>
        <span class="muted" data-testid="tail-status" aria-live="polite">
          {running ? (paused ? 'paused' : 'following') : 'stopped'}, {count(received)} received, {count(rows.length)} shown
          {filtering(filter) ? `, ${count(visible.length)} match` : ''}
        </span>
      </div>
      <ErrorNote error={error} />
      <VirtualList items={visible} rowHeight={ROW_HEIGHT} height={360} label="Live records" stickToEnd render={(r) => <RecordRow r={r} onOpen={onOpen} selected={open === r} />} />
    </section>
  );
}

function parseHeaders(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`Write each header as name=value on its own line (not "${line}")`);
    out[line.slice(0, eq).trim()] = line.slice(eq + 1);
  }
  return out;
}

function Produce({ cluster, topic, partitions }: { cluster: string; topic: string; partitions: number }) {
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [headers, setHeaders] = useState('');
  const [partition, setPartition] = useState('');
  const [acks, setAcks] = useState<'all' | '1'>('all');
  const [error, setError] = useState<unknown>();
  const [written, setWritten] = useState<{ partition: number; offset: number } | undefined>();
  return (
    <form
      class="produce"
      aria-label="Produce"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(undefined);
        setWritten(undefined);
        // the page may reach its own origin only (its Content-Security-Policy): no direct sends to other brokers
        const producer = session.value!.webka(cluster).producer(acks === 'all' ? { acks: 'all', lingerMs: 0, toLeaders: false } : { acks: 1, idempotent: false, lingerMs: 0, toLeaders: false });
        try {
          // a value that parses as JSON is sent as JSON; anything else as a JSON string
          let v: unknown = value;
          try {
            v = JSON.parse(value);
          } catch {
            // text
          }
          const meta = await producer.send(topic, { key: key === '' ? null : key, value: v, headers: parseHeaders(headers), ...(partition === '' ? {} : { partition: Number(partition) }) });
          setWritten({ partition: meta.partition, offset: meta.offset });
        } catch (err) {
          setError(err);
        } finally {
          await producer.close().catch(() => undefined);
        }
      }}
    >
      <label>
        Key
        <input name="key" value={key} onInput={(e) => setKey(e.currentTarget.value)} />
      </label>
      <label>
        Value (JSON, else text)
        <textarea name="value" rows={3} value={value} onInput={(e) => setValue(e.currentTarget.value)} />
      </label>
      <label>
        Headers (name=value a line)
        <textarea name="headers" rows={2} value={headers} onInput={(e) => setHeaders(e.currentTarget.value)} />
      </label>
      <PartitionSelect partitions={partitions} value={partition} onChange={setPartition} byKey />
      <label>
        Acks
        <select name="acks" value={acks} onChange={(e) => setAcks(e.currentTarget.value as 'all' | '1')}>
          <option value="all">all (on disk)</option>
          <option value="1">1</option>
        </select>
      </label>
      <button type="submit">Produce</button>
      {written !== undefined && (
        <p role="status" data-testid="produced">
          Written to partition {written.partition} at offset {written.offset}
        </p>
      )}
      <ErrorNote error={error} />
    </form>
  );
}

export function MessagesPage({ cluster, topic }: { cluster: string; topic: string }) {
  const d = useLoad(() => session.value!.webka(cluster).admin().describeTopic(topic), [cluster, topic]);
  const [open, setOpen] = useState<ShownRecord | undefined>();
  const [filter, setFilter] = useState<RecordFilter>({ text: '', in: 'any' });
  const t = d.data;
  return (
    <>
      <Title>
        <a href={href.topics(cluster)}>Topics</a> / <a href={href.topic(cluster, topic)}>{topic}</a> / Messages
      </Title>
      <ErrorNote error={d.error} />
      <Loading when={d.loading && t === undefined} />
      {t !== undefined && (
        <div class="messages">
          <div class="messages-main">
            <FilterBar filter={filter} onChange={setFilter} />
            <h2>Browse</h2>
            <Browse cluster={cluster} topic={topic} partitions={t.partitions} onOpen={setOpen} open={open} filter={filter} />
            <h2>Live tail</h2>
            <LiveTail cluster={cluster} topic={topic} onOpen={setOpen} open={open} filter={filter} />
            {t.authorizedOperations.some((o) => o === 'write' || o === 'admin') && (
              <>
                <h2>Produce</h2>
                <Produce cluster={cluster} topic={topic} partitions={t.partitions} />
              </>
            )}
          </div>
          {open !== undefined && (
            <aside class="messages-detail">
              <button type="button" onClick={() => setOpen(undefined)}>
                Close
              </button>
              <RecordDetail record={open} />
            </aside>
          )}
        </div>
      )}
    </>
  );
}
