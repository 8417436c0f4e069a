/**
 * A record's key, headers and value in full: JSON as a tree of native <details> (collapsible and
 * keyboard-operable without script), text as text, binary as hex or base64.
 */
import { useState } from 'preact/hooks';
import { base64ToHex, time } from '../format.js';

export interface ShownRecord {
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: unknown;
  headers: Record<string, string | null>;
  keyEncoding?: 'base64';
  valueEncoding?: 'base64';
}

function JsonTree({ value, name }: { value: unknown; name?: string }) {
  const label = name !== undefined ? <span class="json-key">{JSON.stringify(name)}: </span> : null;
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
    const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
    return (
      <details open={entries.length <= 50}>
        <summary>
          {label}
          {open}
          <span class="muted"> {entries.length} {entries.length === 1 ? 'item' : 'items'} </span>
          {close}
        </summary>
        <div class="json-children">
          {entries.map(([k, v]) => (
            <JsonTree key={k} name={Array.isArray(value) ? undefined : k} value={v} />
          ))}
        </div>
      </details>
    );
  }
  return (
    <div>
      {label}
      <span class={`json-${value === null ? 'null' : typeof value}`}>{JSON.stringify(value)}</span>
    </div>
  );
}

function Binary({ b64 }: { b64: string }) {
  const [hex, setHex] = useState(true);
  return (
    <div>
      <button type="button" onClick={() => setHex(!hex)}>
        Show as {hex ? 'base64' : 'hex'}
      </button>
      <pre class="value">{hex ? base64ToHex(b64) : b64}</pre>
    </div>
  );
}

export function RecordDetail({ record }: { record: ShownRecord }) {
  const v = record.value;
  return (
    <section class="record-detail" aria-label={`Record ${record.partition}/${record.offset}`}>
      <h2>
        Partition {record.partition}, offset {record.offset}
      </h2>
      <dl>
        <dt>Timestamp</dt>
        <dd>
          {time(record.timestamp)} ({record.timestamp})
        </dd>
        <dt>Key</dt>
        <dd>{record.key === null ? <span class="muted">null</span> : record.keyEncoding === 'base64' ? <Binary b64={record.key} /> : <code>{record.key}</code>}</dd>
        <dt>Headers</dt>
        <dd>
          {Object.keys(record.headers).length === 0 ? (
            <span class="muted">none</span>
          ) : (
            <ul class="plain">
              {Object.entries(record.headers).map(([k, h]) => (
                <li key={k}>
                  <code>{k}</code>: <code>{String(h)}</code>
                </li>
              ))}
            </ul>
          )}
        </dd>
      </dl>
      <h3>Value</h3>
      {v === null ? (
        <p class="muted">null (a tombstone)</p>
      ) : record.valueEncoding === 'base64' ? (
        <Binary b64={v as string} />
      ) : typeof v === 'string' ? (
        <pre class="value">{v}</pre>
      ) : (
        <div class="json">
          <JsonTree value={v} />
        </div>
      )}
    </section>
  );
}
