/**
 * Consumer groups: the list with state, members and total lag (each group described, at most
 * LAG_GROUPS of them), and one group: members with their assignments, committed offsets with lag
 * per partition, and resetting offsets (earliest, latest, a time or a given offset) with a dry run
 * shown first.
 */
import { useState } from 'preact/hooks';
import type { GroupOffset, ResetOffsets, ResetOffsetsResult } from '@webka/client';
import { session } from '../session.js';
import { href, go } from '../router.js';
import { useLoad } from '../use-load.js';
import { LagChart } from '../components/lag-chart.js';
import { count, time } from '../format.js';
import { ConfirmDelete, ErrorNote, Loading, Title } from '../components/ui.js';

/** Groups whose lag the list fetches (one describe each); past it, lag shows on the group's page. */
export const LAG_GROUPS = 200;

export function GroupsPage({ cluster }: { cluster: string }) {
  const groups = useLoad(async () => {
    const admin = session.value!.webka(cluster).admin();
    const list = (await admin.listGroups()).sort((a, b) => a.group.localeCompare(b.group));
    const lags = await Promise.all(list.slice(0, LAG_GROUPS).map((g) => admin.describeGroup(g.group).then((d) => d.totalLag, () => undefined)));
    return list.map((g, i) => ({ ...g, lag: lags[i] }));
  }, [cluster], 10_000);
  return (
    <>
      <Title>
        Consumer groups <span class="muted">in {cluster}</span>
      </Title>
      <ErrorNote error={groups.error} />
      <Loading when={groups.loading && groups.data === undefined} />
      {groups.data !== undefined && (
        <table class="grid" aria-label="Consumer groups">
          <thead>
            <tr>
              <th scope="col">Group</th>
              <th scope="col">State</th>
              <th scope="col" class="num">Members</th>
              <th scope="col" class="num">Total lag</th>
            </tr>
          </thead>
          <tbody>
            {groups.data.map((g) => (
              <tr key={g.group}>
                <td>
                  <a href={href.group(cluster, g.group)}>{g.group}</a>
                </td>
                <td>{g.state}</td>
                <td class="num">{g.members}</td>
                <td class="num">{g.lag === undefined ? '' : count(g.lag)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {groups.data?.length === 0 && <p class="muted">No consumer groups yet.</p>}
    </>
  );
}

function ResetForm({ cluster, group, offsets, onDone }: { cluster: string; group: string; offsets: GroupOffset[]; onDone: () => void }) {
  const [to, setTo] = useState<'earliest' | 'latest' | 'timestamp' | 'offsets'>('earliest');
  const [when, setWhen] = useState('');
  const [offset, setOffset] = useState('');
  /** For to=offsets: '' for every partition listed, else "topic/partition". */
  const [which, setWhich] = useState('');
  const [preview, setPreview] = useState<ResetOffsetsResult | undefined>();
  const [applied, setApplied] = useState(false);
  const [error, setError] = useState<unknown>();
  const run = async (dryRun: boolean) => {
    setError(undefined);
    try {
      const reset: ResetOffsets = { to, dryRun };
      if (to === 'timestamp') {
        reset.timestamp = Date.parse(when);
        if (Number.isNaN(reset.timestamp)) throw new Error('Give the time as an ISO date, e.g. 2026-01-31T12:00:00Z');
      }
      if (to === 'offsets') {
        if (!/^\d+$/.test(offset.trim())) throw new Error('Give the offset as a whole number, 0 or more');
        const chosen = offsets.filter((o) => which === '' || `${o.topic}/${o.partition}` === which);
        if (chosen.length === 0) throw new Error('The group has no partitions to reset');
        reset.offsets = chosen.map((o) => ({ topic: o.topic, partition: o.partition, offset: Number(offset.trim()) }));
      }
      const result = await session.value!.webka(cluster).admin().resetGroupOffsets(group, reset);
      setPreview(result);
      setApplied(!dryRun);
      if (!dryRun) onDone();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form
      class="inline-form"
      aria-label="Reset offsets"
      onSubmit={(e) => {
        e.preventDefault();
        void run(true);
      }}
    >
      <label>
        Reset to
        <select
          name="to"
          value={to}
          onChange={(e) => {
            setTo(e.currentTarget.value as typeof to);
            setPreview(undefined);
          }}
        >
          <option value="earliest">earliest</option>
          <option value="latest">latest</option>
          <option value="timestamp">a time</option>
          <option value="offsets">an offset</option>
        </select>
      </label>
      {to === 'timestamp' && (
        <label>
          Time (ISO)
          <input
            name="when"
            value={when}
            onInput={(e) => {
              setWhen(e.currentTarget.value);
              setPreview(undefined);
            }}
            required
          />
        </label>
      )}
      {to === 'offsets' && (
        <>
          <label>
            Offset
            <input
              name="offset"
              inputMode="numeric"
              value={offset}
              onInput={(e) => {
                setOffset(e.currentTarget.value);
                setPreview(undefined);
              }}
              required
            />
          </label>
          <label>
            Of
            <select
              name="which"
              value={which}
              onChange={(e) => {
                setWhich(e.currentTarget.value);
                setPreview(undefined);
              }}
            >
              <option value="">every partition listed</option>
              {offsets.map((o) => (
                <option key={`${o.topic}/${o.partition}`} value={`${o.topic}/${o.partition}`}>
                  {o.topic}/{o.partition}
                </option>
              ))}
            </select>
          </label>
        </>
      )}
      <button type="submit">Preview (dry run)</button>
      <button type="button" class="danger" disabled={preview === undefined || !preview.dryRun} onClick={() => void run(false)}>
        Apply reset
      </button>
      <ErrorNote error={error} />
      {preview !== undefined && (
        <div class="full">
          <p role="status">{applied ? 'Offsets reset:' : 'Dry run, nothing changed yet:'}</p>
          <table class="grid" aria-label="Reset preview">
            <thead>
              <tr>
                <th scope="col">Topic</th>
                <th scope="col" class="num">Partition</th>
                <th scope="col" class="num">Committed</th>
                <th scope="col" class="num">New offset</th>
              </tr>
            </thead>
            <tbody>
              {preview.offsets.map((o) => (
                <tr key={`${o.topic}/${o.partition}`}>
                  <td>{o.topic}</td>
                  <td class="num">{o.partition}</td>
                  <td class="num">{o.previous ?? 'none'}</td>
                  <td class="num">{o.offset}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </form>
  );
}

export function GroupPage({ cluster, group }: { cluster: string; group: string }) {
  const d = useLoad(() => session.value!.webka(cluster).admin().describeGroup(group), [cluster, group], 5_000);
  const g = d.data;
  const mayAlter = g?.authorizedOperations === undefined || g.authorizedOperations.some((o) => o === 'alter' || o === 'admin');
  return (
    <>
      <Title
        actions={
          g !== undefined && (g.authorizedOperations ?? []).some((o) => o === 'delete' || o === 'admin') ? (
            <ConfirmDelete
              what="group"
              name={group}
              onConfirm={async () => {
                await session.value!.webka(cluster).admin().deleteGroup(group);
                go(href.groups(cluster));
              }}
            />
          ) : undefined
        }
      >
        <a href={href.groups(cluster)}>Consumer groups</a> / {group}
      </Title>
      <ErrorNote error={d.error} />
      <Loading when={d.loading && g === undefined} />
      {g !== undefined && (
        <>
          <p>
            State <strong data-testid="group-state">{g.state}</strong>, generation {g.generation}, total lag <strong data-testid="group-lag">{count(g.totalLag)}</strong>
          </p>
          <h2>Members</h2>
          {g.members.length === 0 ? (
            <p class="muted">No members.</p>
          ) : (
            <table class="grid" aria-label="Members">
              <thead>
                <tr>
                  <th scope="col">Member</th>
                  <th scope="col">Client</th>
                  <th scope="col">Host</th>
                  <th scope="col">Joined</th>
                  <th scope="col">Assignment</th>
                </tr>
              </thead>
              <tbody>
                {g.members.map((m) => (
                  <tr key={m.memberId}>
                    <td>
                      <code>{m.memberId}</code>
                    </td>
                    <td>{m.clientId}</td>
                    <td>{m.clientHost}</td>
                    <td>{time(m.joinedAt)}</td>
                    <td>{m.assignment.map((a) => `${a.topic}/${a.partition}`).join(', ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h2>Offsets</h2>
          <table class="grid" aria-label="Offsets">
            <thead>
              <tr>
                <th scope="col">Topic</th>
                <th scope="col" class="num">Partition</th>
                <th scope="col" class="num">Committed</th>
                <th scope="col" class="num">End offset</th>
                <th scope="col" class="num">Lag</th>
              </tr>
            </thead>
            <tbody>
              {g.offsets.map((o) => (
                <tr key={`${o.topic}/${o.partition}`}>
                  <td>{o.topic}</td>
                  <td class="num">{o.partition}</td>
                  <td class="num">{o.committed ?? 'none'}</td>
                  <td class="num">{o.highWatermark ?? ''}</td>
                  <td class="num">{o.lag ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {g.offsets.length > 0 && <LagChart offsets={g.offsets} sampledAt={g} />}
          {mayAlter && (
            <>
              <h2>Reset offsets</h2>
              {g.members.length > 0 ? <p class="muted">The group has members: the broker resets only an empty group.</p> : null}
              <ResetForm cluster={cluster} group={group} offsets={g.offsets} onDone={d.reload} />
            </>
          )}
        </>
      )}
    </>
  );
}
