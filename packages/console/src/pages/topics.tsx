/**
 * Topics: the list with search and paging (a page of PAGE_SIZE rows, so 1,000 topics cost the
 * same DOM as 50), a create form, and one topic's partitions with their offsets and sizes.
 */
import { useMemo, useState } from 'preact/hooks';
import { session, mayCreateTopics } from '../session.js';
import { href, go } from '../router.js';
import { useLoad } from '../use-load.js';
import { bytes, count, configValue } from '../format.js';
import { ErrorNote, Loading, Title, ConfirmDelete } from '../components/ui.js';

export const PAGE_SIZE = 50;

function CreateTopic({ cluster, onCreated }: { cluster: string; onCreated: (name: string) => void }) {
  const [name, setName] = useState('');
  const [partitions, setPartitions] = useState('1');
  const [error, setError] = useState<unknown>();
  return (
    <form
      class="inline-form"
      aria-label="Create topic"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(undefined);
        try {
          await session.value!.webka(cluster).admin().createTopic({ name: name.trim(), partitions: Number(partitions) });
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
      <button type="submit">Create topic</button>
      <ErrorNote error={error} />
    </form>
  );
}

export function TopicsPage({ cluster }: { cluster: string }) {
  const topics = useLoad(() => session.value!.webka(cluster).admin().listTopics(), [cluster], 10_000);
  const [query, setQuery] = useState('');
  const [page, setPage] = useState(0);
  const [creating, setCreating] = useState(false);
  const matching = useMemo(() => {
    const q = query.trim().toLowerCase();
    const all = [...(topics.data ?? [])].sort((a, b) => a.name.localeCompare(b.name));
    return q === '' ? all : all.filter((t) => t.name.toLowerCase().includes(q));
  }, [topics.data, query]);
  const pages = Math.max(1, Math.ceil(matching.length / PAGE_SIZE));
  const shown = Math.min(page, pages - 1);
  const rows = matching.slice(shown * PAGE_SIZE, (shown + 1) * PAGE_SIZE);
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
          {count(matching.length)} {matching.length === 1 ? 'topic' : 'topics'}
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

export function TopicPage({ cluster, topic }: { cluster: string; topic: string }) {
  const d = useLoad(() => session.value!.webka(cluster).admin().describeTopic(topic), [cluster, topic], 5_000);
  const t = d.data;
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
        </>
      )}
    </>
  );
}
