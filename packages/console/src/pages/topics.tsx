/**
 * Topics: the list with search and paging done by the broker (GET .../topics?search&offset&limit:
 * a page of PAGE_SIZE rows and the total, so 1,000 topics cost the same transfer and DOM as 50), a create form (partitions, replication factor, configs with their docs and
 * defaults), and one topic's partitions with their offsets and sizes, its configs (changed or
 * reset one key at a time) and adding partitions.
 */
import { useEffect, useState } from 'preact/hooks';
import type { TopicConfigDoc, TopicDescription } from '@webka/client';
import { session, mayCreateTopics } from '../session.js';
import { href, go } from '../router.js';
import { useLoad } from '../use-load.js';
import { bytes, count, configValue } from '../format.js';
import { ErrorNote, Loading, Title, ConfirmDelete } from '../components/ui.js';

export const PAGE_SIZE = 50;

type ConfigValue = number | string;

/** Topic configs as `key=value` lines: integers as numbers, anything else as text. */
export function parseConfigs(text: string): Record<string, ConfigValue> {
  const out: Record<string, ConfigValue> = {};
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`Write each config as key=value on its own line (not "${line.trim()}")`);
    const v = line.slice(eq + 1).trim();
    out[line.slice(0, eq).trim()] = /^-?\d+$/.test(v) ? Number(v) : v;
  }
  return out;
}

/** The broker's topic configs (GET /v1/topic-configs): the same for every topic, loaded once. */
let configDocs: Promise<TopicConfigDoc[]> | undefined;
function useConfigDocs(cluster: string) {
  return useLoad(() => {
    configDocs ??= session.value!.webka(cluster).admin().topicConfigs().catch((err: unknown) => {
      configDocs = undefined;
      throw err;
    });
    return configDocs;
  }, []);
}

function ConfigDocs({ docs }: { docs: TopicConfigDoc[] | undefined }) {
  if (docs === undefined) return null;
  return (
    <details class="full">
      <summary>Topic configs, their defaults and what they do</summary>
      <table class="grid" aria-label="Topic config docs">
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Default</th>
            <th scope="col">Values</th>
            <th scope="col">What it does</th>
          </tr>
        </thead>
        <tbody>
          {docs.map((d) => (
            <tr key={d.name}>
              <td>
                <code>{d.name}</code>
              </td>
              <td>{configValue(d.name, d.default)}</td>
              <td>{d.type === 'enum' ? (d.values ?? []).join(', ') : d.min !== undefined ? `integer, at least ${d.min}` : 'integer'}</td>
              <td>{d.doc}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

function CreateTopic({ cluster, onCreated }: { cluster: string; onCreated: (name: string) => void }) {
  const [name, setName] = useState('');
  const [partitions, setPartitions] = useState('1');
  const [replication, setReplication] = useState('');
  const [configs, setConfigs] = useState('');
  const [error, setError] = useState<unknown>();
  const docs = useConfigDocs(cluster);
  return (
    <form
      class="inline-form"
      aria-label="Create topic"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(undefined);
        try {
          await session.value!.webka(cluster).admin().createTopic({
            name: name.trim(),
            partitions: Number(partitions),
            ...(replication.trim() === '' ? {} : { replicationFactor: Number(replication) }),
            configs: parseConfigs(configs),
          });
          setName('');
          onCreated(name.trim());
        } catch (err) {
          setError(err);
        }
      }}
    >
      <label>
        Name
        <input name="name" value={name} onInput={(e) => setName(e.currentTarget.value)} required />
      </label>
      <label>
        Partitions
        <input name="partitions" type="number" min="1" value={partitions} onInput={(e) => setPartitions(e.currentTarget.value)} required />
      </label>
      <label>
        Replication factor
        <input name="replicationFactor" type="number" min="1" placeholder="cluster default" value={replication} onInput={(e) => setReplication(e.currentTarget.value)} />
      </label>
      <label>
        Configs (key=value a line)
        <textarea name="configs" rows={2} value={configs} onInput={(e) => setConfigs(e.currentTarget.value)} />
      </label>
      <button type="submit">Create topic</button>
      <ErrorNote error={error} />
      <ConfigDocs docs={docs.data} />
    </form>
  );
}

export function TopicsPage({ cluster }: { cluster: string }) {
  const [query, setQuery] = useState('');
  const [page, setPage] = useState(0);
  const [creating, setCreating] = useState(false);
  const search = query.trim();
  // the answer carries the page it is of: the pager names the rows shown, not the page still loading
  const topics = useLoad(
    () => session.value!.webka(cluster).admin().topicPage({ search, offset: page * PAGE_SIZE, limit: PAGE_SIZE }).then((r) => ({ ...r, page })),
    [cluster, search, page],
    10_000,
  );
  const total = topics.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const shown = Math.min(topics.data?.page ?? page, pages - 1);
  const rows = topics.data?.topics ?? [];
  // topics deleted since: the page asked for is past the end, so show the last one
  useEffect(() => {
    if (topics.data !== undefined && page > pages - 1) setPage(pages - 1);
  }, [topics.data, page, pages]);
  return (
    <>
      <Title
        actions={
          mayCreateTopics(session.value!, cluster) ? (
            <button type="button" onClick={() => setCreating(!creating)} aria-expanded={creating}>
              {creating ? 'Close' : 'New topic'}
            </button>
          ) : undefined
        }
      >
        Topics <span class="muted">in {cluster}</span>
      </Title>
      {creating && (
        <CreateTopic
          cluster={cluster}
          onCreated={(name) => {
            setCreating(false);
            go(href.topic(cluster, name));
          }}
        />
      )}
      <div class="toolbar">
        <input
          type="search"
          aria-label="Search topics"
          placeholder="Search topics"
          value={query}
          onInput={(e) => {
            setQuery(e.currentTarget.value);
            setPage(0);
          }}
        />
        <span class="muted" data-testid="topic-count">
          {count(total)} {total === 1 ? 'topic' : 'topics'}
        </span>
      </div>
      <ErrorNote error={topics.error} />
      <Loading when={topics.loading && topics.data === undefined} />
      {topics.data !== undefined && (
        <table class="grid" aria-label="Topics">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col" class="num">Partitions</th>
              <th scope="col" class="num">Replication</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((t) => (
              <tr key={t.name}>
                <td>
                  <a href={href.topic(cluster, t.name)}>{t.name}</a>
                </td>
                <td class="num">{t.partitions}</td>
                <td class="num">{t.replicationFactor}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {pages > 1 && (
        <nav class="pager" aria-label="Pages">
          <button type="button" disabled={shown === 0} onClick={() => setPage(shown - 1)}>
            Previous
          </button>
          <span>
            Page {shown + 1} of {pages}
          </span>
          <button type="button" disabled={shown >= pages - 1} onClick={() => setPage(shown + 1)}>
            Next
          </button>
        </nav>
      )}
    </>
  );
}

/** Sets one config of the topic, or removes its override (back to the cluster's or the default). */
function ChangeConfig({ cluster, t, onChanged }: { cluster: string; t: TopicDescription; onChanged: () => void }) {
  const docs = useConfigDocs(cluster);
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState('');
  const list = docs.data ?? [];
  const doc = list.find((d) => d.name === key) ?? list[0];
  const alter = async (v: ConfigValue | null) => {
    setError(undefined);
    setDone('');
    try {
      if (doc === undefined) return;
      if (v !== null && doc.type === 'long') {
        if (!/^-?\d+$/.test(String(v).trim())) throw new Error(`${doc.name} takes an integer${doc.min !== undefined ? ` of at least ${doc.min}` : ''}`);
        v = Number(v);
      }
      await session.value!.webka(cluster).admin().alterTopic(t.name, { configs: { [doc.name]: v } });
      setDone(v === null ? `${doc.name}: override removed` : `${doc.name} set to ${v}`);
      onChanged();
    } catch (err) {
      setError(err);
    }
  };
  if (doc === undefined) return <ErrorNote error={docs.error} />;
  const current = t.effectiveConfigs[doc.name];
  return (
    <form
      class="inline-form"
      aria-label="Change config"
      onSubmit={(e) => {
        e.preventDefault();
        void alter(doc.type === 'enum' && value === '' ? String(current?.value ?? doc.default) : value);
      }}
    >
      <label>
        Config
        <select
          name="key"
          value={doc.name}
          onChange={(e) => {
            setKey(e.currentTarget.value);
            setValue('');
          }}
        >
          {list.map((d) => (
            <option key={d.name} value={d.name}>
              {d.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        New value
        {doc.type === 'enum' ? (
          <select name="value" value={value === '' ? String(current?.value ?? doc.default) : value} onChange={(e) => setValue(e.currentTarget.value)}>
            {(doc.values ?? []).map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        ) : (
          <input name="value" inputMode="numeric" placeholder={String(current?.value ?? doc.default)} value={value} onInput={(e) => setValue(e.currentTarget.value)} required />
        )}
      </label>
      <button type="submit">
        Set
      </button>
      <button type="button" disabled={current?.source !== 'topic'} onClick={() => void alter(null)}>
        Remove override
      </button>
      <p class="full muted">
        {doc.doc} Default {configValue(doc.name, doc.default)}; now {current === undefined ? 'unknown' : `${configValue(doc.name, current.value)} (${current.source})`}.
      </p>
      {done !== '' && (
        <p class="full" role="status">
          {done}
        </p>
      )}
      <ErrorNote error={error} />
    </form>
  );
}

function AddPartitions({ cluster, t, onChanged }: { cluster: string; t: TopicDescription; onChanged: () => void }) {
  const [n, setN] = useState('');
  const [error, setError] = useState<unknown>();
  return (
    <form
      class="inline-form"
      aria-label="Add partitions"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(undefined);
        try {
          await session.value!.webka(cluster).admin().alterTopic(t.name, { partitions: Number(n) });
          setN('');
          onChanged();
        } catch (err) {
          setError(err);
        }
      }}
    >
      <label>
        New partition count
        <input name="partitions" type="number" placeholder={String(t.partitions + 1)} value={n} onInput={(e) => setN(e.currentTarget.value)} required />
      </label>
      <button type="submit">Add partitions</button>
      <p class="full muted">The count only grows. Records already written stay where they are; keys map to partitions anew from now on.</p>
      <ErrorNote error={error} />
    </form>
  );
}

export function TopicPage({ cluster, topic }: { cluster: string; topic: string }) {
  const d = useLoad(() => session.value!.webka(cluster).admin().describeTopic(topic), [cluster, topic], 5_000);
  const t = d.data;
  const mayAlter = t !== undefined && t.authorizedOperations.some((o) => o === 'alter' || o === 'admin');
  return (
    <>
      <Title
        actions={
          t !== undefined && t.authorizedOperations.some((o) => o === 'delete' || o === 'admin') ? (
            <ConfirmDelete
              what="topic"
              name={topic}
              onConfirm={async () => {
                await session.value!.webka(cluster).admin().deleteTopic(topic);
                go(href.topics(cluster));
              }}
            />
          ) : undefined
        }
      >
        <a href={href.topics(cluster)}>Topics</a> / {topic}
      </Title>
      <ErrorNote error={d.error} />
      <Loading when={d.loading && t === undefined} />
      {t !== undefined && (
        <>
          <p>
            <a href={href.messages(cluster, topic)}>Messages</a>: browse, follow live, produce
          </p>
          <h2>Partitions</h2>
          <table class="grid" aria-label="Partitions">
            <thead>
              <tr>
                <th scope="col" class="num">Partition</th>
                <th scope="col" class="num">Start offset</th>
                <th scope="col" class="num">End offset</th>
                <th scope="col" class="num">Records</th>
                <th scope="col" class="num">Size</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {t.partitionInfo.map((p) => (
                <tr key={p.partition}>
                  <td class="num">{p.partition}</td>
                  <td class="num">{count(p.logStartOffset)}</td>
                  <td class="num">{count(p.highWatermark)}</td>
                  <td class="num">{count(p.highWatermark - p.logStartOffset)}</td>
                  <td class="num">{bytes(p.sizeBytes)}</td>
                  <td>{p.offline === null ? 'online' : `offline: ${p.offline}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {mayAlter && <AddPartitions cluster={cluster} t={t} onChanged={d.reload} />}
          <h2>Configs</h2>
          <table class="grid" aria-label="Configs">
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Value</th>
                <th scope="col">Source</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(t.effectiveConfigs)
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([k, v]) => (
                  <tr key={k}>
                    <td>
                      <code>{k}</code>
                    </td>
                    <td>{configValue(k, v.value)}</td>
                    <td class="muted">{v.source}</td>
                  </tr>
                ))}
            </tbody>
          </table>
          {mayAlter && <ChangeConfig cluster={cluster} t={t} onChanged={d.reload} />}
        </>
      )}
    </>
  );
}
