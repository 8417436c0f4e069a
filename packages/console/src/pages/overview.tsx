/**
 * Overview: the brokers (controller, liveness), and totals over what the principal may see:
 * clusters, topics, partitions (offline and under-replicated), disk use, and traffic since the
 * broker started with rates measured between the page's reloads.
 */
import { useRef } from 'preact/hooks';
import { session } from '../session.js';
import { useLoad } from '../use-load.js';
import { bytes, count, duration } from '../format.js';
import { ErrorNote, Loading, Title } from '../components/ui.js';

const RELOAD_MS = 5_000;

export function OverviewPage() {
  const d = useLoad(() => session.value!.webka().admin().describeBroker(), [], RELOAD_MS);
  // the previous answer, for records per second between two reloads
  const prev = useRef<{ at: number; recordsIn: number; recordsOut: number } | undefined>(undefined);
  const b = d.data;
  let rates: { in: number; out: number } | undefined;
  if (b !== undefined) {
    const now = { at: b.uptimeMs, recordsIn: b.totals.recordsIn, recordsOut: b.totals.recordsOut };
    const p = prev.current;
    if (p !== undefined && now.at > p.at) rates = { in: ((now.recordsIn - p.recordsIn) * 1000) / (now.at - p.at), out: ((now.recordsOut - p.recordsOut) * 1000) / (now.at - p.at) };
    if (p === undefined || now.at > p.at) prev.current = now;
  }
  const t = b?.totals;
  return (
    <>
      <Title>Overview</Title>
      <ErrorNote error={d.error} />
      <Loading when={d.loading && b === undefined} />
      {b !== undefined && t !== undefined && (
        <>
          <p>
            Webka {b.version}, up {duration(b.uptimeMs)}, authentication {b.authEnabled ? 'on' : 'off'}
          </p>
          <dl class="stats" aria-label="Totals">
            {(
              [
                ['Clusters', count(t.clusters)],
                ['Topics', count(t.topics)],
                ['Partitions', count(t.partitions)],
                ['Offline partitions', count(t.offlinePartitions)],
                ['Under-replicated partitions', count(t.underReplicatedPartitions)],
                ['Disk use', bytes(t.sizeBytes)],
                ['Records in', count(t.recordsIn) + (rates ? ` (${rates.in.toFixed(0)}/s)` : '')],
                ['Records out', count(t.recordsOut) + (rates ? ` (${rates.out.toFixed(0)}/s)` : '')],
                ['Bytes in', bytes(t.bytesIn)],
                ['Bytes out', bytes(t.bytesOut)],
              ] as const
            ).map(([k, v]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd data-testid={`stat-${k.toLowerCase().replace(/ /g, '-')}`}>{v}</dd>
              </div>
            ))}
          </dl>
          <h2>Brokers</h2>
          <table class="grid" aria-label="Brokers">
            <thead>
              <tr>
                <th scope="col" class="num">Id</th>
                <th scope="col">Address</th>
                <th scope="col">Role</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {b.brokers.map((n) => (
                <tr key={n.brokerId}>
                  <td class="num">{n.brokerId}</td>
                  <td>
                    {n.host}:{n.port}
                  </td>
                  <td>{n.controller ? 'controller' : ''}</td>
                  <td>{n.alive ? 'alive' : 'down'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}
