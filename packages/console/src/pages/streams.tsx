/** Durable Streams: every stream the principal may see, with content type, TTL, tail offset and state. */
import { session } from '../session.js';
import { useLoad } from '../use-load.js';
import { time } from '../format.js';
import { ErrorNote, Loading, Title } from '../components/ui.js';

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
                  <code>{s.path}</code>
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
