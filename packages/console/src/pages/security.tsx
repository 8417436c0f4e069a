/**
 * Security: every signed-in principal sees who it is and the ACLs that apply to it (whoami), and
 * manages its own API keys. A superuser also manages principals, their API keys and ACLs. Those
 * routes take an API key, never a token, so the page uses the key kept in memory since sign-in,
 * or asks for it again after a reload. A principal who is not a superuser is offered nothing else,
 * and the broker refuses such calls anyway (403 FORBIDDEN).
 */
import { useState } from 'preact/hooks';
import { HttpClient, SecurityAdmin, type Acl, type AclOperation, type NewApiKey } from '@webka/client';
import { session, rememberKey, keyIdOf, origin, type Session } from '../session.js';
import { useLoad } from '../use-load.js';
import { time } from '../format.js';
import { ConfirmDelete, ErrorNote, Loading, Title } from '../components/ui.js';

const OPERATIONS: AclOperation[] = ['read', 'write', 'create', 'delete', 'alter', 'describe', 'admin'];

export function resourceText(r: Acl['resource']): string {
  const name = r.patternType === 'prefixed' ? `${r.name}*` : r.name;
  return r.type === 'cluster' ? `cluster:${name}` : `${r.type}:${r.cluster === '*' ? '' : `${r.cluster}/`}${name}`;
}

function AclTable({ acls, label, onRemove }: { acls: Acl[]; label: string; onRemove?: (a: Acl) => Promise<void> }) {
  if (acls.length === 0) return <p class="muted">No ACLs.</p>;
  return (
    <table class="grid" aria-label={label}>
      <thead>
        <tr>
          <th scope="col">Principal</th>
          <th scope="col">Effect</th>
          <th scope="col">Operations</th>
          <th scope="col">Resource</th>
          {onRemove !== undefined && <th scope="col">Remove</th>}
        </tr>
      </thead>
      <tbody>
        {acls.map((a) => (
          <tr key={a.id}>
            <td>{a.principal}</td>
            <td>{a.effect}</td>
            <td>{a.operations.join(', ')}</td>
            <td>
              <code>{resourceText(a.resource)}</code>
            </td>
            {onRemove !== undefined && (
              <td>
                <button type="button" class="danger" aria-label={`Remove ACL ${a.effect} ${a.operations.join(',')} on ${resourceText(a.resource)} for ${a.principal}`} onClick={() => void onRemove(a)}>
                  Remove
                </button>
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A key shown once, right after it was made. */
function NewKey({ k }: { k: NewApiKey }) {
  return (
    <div class="note full" role="status">
      New API key for <strong>{k.principal}</strong> (shown once, store it now): <code data-testid="new-key">{k.key}</code>
    </div>
  );
}

function MyAccess({ s }: { s: Session }) {
  return (
    <>
      <h2>Your access</h2>
      <p>
        Signed in as <strong>{s.me.principal}</strong>
        {s.me.superuser ? ', a superuser (ACLs do not limit it)' : ''}
        {s.me.expiresAt !== undefined ? `; the browser token expires at ${time(s.me.expiresAt)} UTC` : ''}.
      </p>
      {!s.me.superuser && <AclTable acls={s.me.acls} label="Your ACLs" />}
      {!s.me.superuser && <p class="muted">Managing principals and ACLs needs a superuser; you manage your own API keys below.</p>}
    </>
  );
}

/** After a reload (or a revoke of the key in use) the token survived, the key did not. */
function AskForKey({ superuser }: { superuser: boolean }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>();
  return (
    <form
      class="inline-form"
      aria-label={superuser ? 'Superuser key' : 'Your key'}
      onSubmit={async (e) => {
        e.preventDefault();
        setError(undefined);
        try {
          const me = await new SecurityAdmin(new HttpClient({ url: origin(), token: key.trim() })).whoami();
          if ((superuser && !me.superuser) || me.principal !== session.value?.me.principal) throw new Error(`Give the API key of ${session.value?.me.principal} (this one is ${me.principal}'s)`);
          rememberKey(key.trim());
        } catch (err) {
          setError(err);
        }
      }}
    >
      <p class="full muted">Managing {superuser ? 'principals, keys and ACLs' : 'your API keys'} needs your API key (the browser token cannot); it is kept in memory only, until a reload.</p>
      <label>
        API key
        <input type="password" name="apiKey" autoComplete="off" value={key} onInput={(e) => setKey(e.currentTarget.value)} required />
      </label>
      <button type="submit">Use key</button>
      <ErrorNote error={error} />
    </form>
  );
}

function CreatePrincipal({ sec, onCreated }: { sec: SecurityAdmin; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [kind, setKind] = useState<'user' | 'service'>('user');
  const [superuser, setSuperuser] = useState(false);
  const [description, setDescription] = useState('');
  const [withKey, setWithKey] = useState(true);
  const [made, setMade] = useState<NewApiKey | undefined>();
  const [error, setError] = useState<unknown>();
  return (
    <form
      class="inline-form"
      aria-label="Create principal"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(undefined);
        setMade(undefined);
        try {
          const r = await sec.createPrincipal({ name: name.trim(), kind, superuser, description, createKey: withKey });
          setMade(r.key);
          setName('');
          setDescription('');
          onCreated();
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
        Kind
        <select name="kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as 'user' | 'service')}>
          <option value="user">user</option>
          <option value="service">service</option>
        </select>
      </label>
      <label>
        Description
        <input name="description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      </label>
      <label class="row-label">
        <input type="checkbox" name="superuser" checked={superuser} onChange={(e) => setSuperuser(e.currentTarget.checked)} />
        Superuser
      </label>
      <label class="row-label">
        <input type="checkbox" name="createKey" checked={withKey} onChange={(e) => setWithKey(e.currentTarget.checked)} />
        With a first API key
      </label>
      <button type="submit">Create principal</button>
      <ErrorNote error={error} />
      {made !== undefined && <NewKey k={made} />}
    </form>
  );
}

function Keys({ sec, principal, inUse }: { sec: SecurityAdmin; principal: string; inUse: string | undefined }) {
  const keys = useLoad(() => sec.listKeys(principal), [sec, principal]);
  const [description, setDescription] = useState('');
  const [made, setMade] = useState<NewApiKey | undefined>();
  const [error, setError] = useState<unknown>();
  return (
    <section aria-label={`Keys of ${principal}`}>
      <h2>{principal === session.value?.me.principal ? 'Your API keys' : `API keys of ${principal}`}</h2>
      <ErrorNote error={keys.error ?? error} />
      <Loading when={keys.loading && keys.data === undefined} />
      {keys.data !== undefined && keys.data.length === 0 && <p class="muted">No keys.</p>}
      {keys.data !== undefined && keys.data.length > 0 && (
        <table class="grid" aria-label="API keys">
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">Description</th>
              <th scope="col">Created</th>
              <th scope="col">Revoke</th>
            </tr>
          </thead>
          <tbody>
            {keys.data.map((k) => (
              <tr key={k.id}>
                <td>
                  <code>{k.id}</code>
                </td>
                <td>
                  {k.description}
                  {k.id === inUse && <span class="muted"> (the key you signed in with)</span>}
                </td>
                <td>{time(k.createdAt)}</td>
                <td>
                  <button
                    type="button"
                    class="danger"
                    aria-label={`Revoke key ${k.id}`}
                    onClick={async () => {
                      setError(undefined);
                      try {
                        await sec.revokeKey(principal, k.id);
                        // the key in memory no longer works: ask for another before the next change
                        if (k.id === inUse) rememberKey(undefined);
                        else keys.reload();
                      } catch (err) {
                        setError(err);
                      }
                    }}
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form
        class="inline-form"
        aria-label="Create key"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(undefined);
          setMade(undefined);
          try {
            setMade(await sec.createKey(principal, description === '' ? undefined : description));
            setDescription('');
            keys.reload();
          } catch (err) {
            setError(err);
          }
        }}
      >
        <label>
          Key description
          <input name="description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        </label>
        <button type="submit">Create key</button>
        {made !== undefined && <NewKey k={made} />}
      </form>
    </section>
  );
}

function AddAcl({ sec, principals, onAdded }: { sec: SecurityAdmin; principals: string[]; onAdded: () => void }) {
  const [principal, setPrincipal] = useState('');
  const [effect, setEffect] = useState<'allow' | 'deny'>('allow');
  const [ops, setOps] = useState<AclOperation[]>(['read']);
  const [type, setType] = useState<'topic' | 'group' | 'cluster'>('topic');
  const [name, setName] = useState('');
  const [prefixed, setPrefixed] = useState(false);
  const [cluster, setCluster] = useState('*');
  const [error, setError] = useState<unknown>();
  return (
    <form
      class="inline-form"
      aria-label="Add ACL"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(undefined);
        try {
          if (ops.length === 0) throw new Error('Pick at least one operation');
          await sec.addAcl({
            principal: principal === '' ? principals[0] ?? '*' : principal,
            effect,
            operations: ops,
            resource: { type, name: name.trim(), patternType: prefixed ? 'prefixed' : 'literal', ...(type === 'cluster' ? {} : { cluster: cluster.trim() || '*' }) },
          });
          setName('');
          onAdded();
        } catch (err) {
          setError(err);
        }
      }}
    >
      <label>
        Principal
        <select name="principal" value={principal === '' ? principals[0] ?? '*' : principal} onChange={(e) => setPrincipal(e.currentTarget.value)}>
          {principals.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
          <option value="*">every principal (*)</option>
        </select>
      </label>
      <label>
        Effect
        <select name="effect" value={effect} onChange={(e) => setEffect(e.currentTarget.value as 'allow' | 'deny')}>
          <option value="allow">allow</option>
          <option value="deny">deny</option>
        </select>
      </label>
      <fieldset class="ops">
        <legend>Operations</legend>
        {OPERATIONS.map((o) => (
          <label key={o} class="row-label">
            <input type="checkbox" checked={ops.includes(o)} onChange={(e) => setOps(e.currentTarget.checked ? [...ops, o] : ops.filter((x) => x !== o))} />
            {o}
          </label>
        ))}
      </fieldset>
      <label>
        Resource type
        <select name="type" value={type} onChange={(e) => setType(e.currentTarget.value as typeof type)}>
          <option value="topic">topic</option>
          <option value="group">group</option>
          <option value="cluster">cluster</option>
        </select>
      </label>
      <label>
        Resource name (* for all)
        <input name="resource" value={name} onInput={(e) => setName(e.currentTarget.value)} required />
      </label>
      <label class="row-label">
        <input type="checkbox" name="prefixed" checked={prefixed} onChange={(e) => setPrefixed(e.currentTarget.checked)} />
        Name is a prefix
      </label>
      {type !== 'cluster' && (
        <label>
          In cluster (* for all)
          <input name="cluster" value={cluster} onInput={(e) => setCluster(e.currentTarget.value)} required />
        </label>
      )}
      <button type="submit">Add ACL</button>
      <ErrorNote error={error} />
    </form>
  );
}

function Manage({ sec, me, inUse }: { sec: SecurityAdmin; me: string; inUse: string | undefined }) {
  const principals = useLoad(() => sec.listPrincipals(), [sec]);
  const acls = useLoad(() => sec.listAcls(), [sec]);
  const [keysOf, setKeysOf] = useState<string | undefined>();
  const [aclFilter, setAclFilter] = useState('');
  const [error, setError] = useState<unknown>();
  const names = (principals.data ?? []).map((p) => p.name);
  const shownAcls = (acls.data ?? []).filter((a) => aclFilter === '' || a.principal === aclFilter);
  return (
    <>
      <h2>Principals</h2>
      <ErrorNote error={principals.error} />
      <Loading when={principals.loading && principals.data === undefined} />
      {principals.data !== undefined && (
        <table class="grid" aria-label="Principals">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Superuser</th>
              <th scope="col">Description</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {principals.data.map((p) => (
              <tr key={p.name}>
                <td>{p.name}</td>
                <td>{p.kind}</td>
                <td>{p.superuser ? 'yes' : 'no'}</td>
                <td>{p.description}</td>
                <td>{time(p.createdAt)}</td>
                <td class="actions">
                  <button type="button" aria-label={`Keys of ${p.name}`} aria-pressed={keysOf === p.name} onClick={() => setKeysOf(keysOf === p.name ? undefined : p.name)}>
                    Keys
                  </button>
                  <button type="button" aria-label={`ACLs of ${p.name}`} onClick={() => setAclFilter(p.name)}>
                    ACLs
                  </button>
                  {p.name !== me && (
                    <ConfirmDelete
                      what="principal"
                      name={p.name}
                      onConfirm={async () => {
                        await sec.deletePrincipal(p.name);
                        if (keysOf === p.name) setKeysOf(undefined);
                        principals.reload();
                        acls.reload();
                      }}
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <CreatePrincipal sec={sec} onCreated={principals.reload} />
      {keysOf !== undefined && <Keys key={keysOf} sec={sec} principal={keysOf} inUse={inUse} />}
      <h2>ACLs</h2>
      <div class="toolbar">
        <label class="row-label">
          Show
          <select name="aclFilter" aria-label="Show ACLs of" value={aclFilter} onChange={(e) => setAclFilter(e.currentTarget.value)}>
            <option value="">every principal</option>
            {[...names, '*'].map((n) => (
              <option key={n} value={n}>
                {n === '*' ? 'those for * (everyone)' : n}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorNote error={acls.error ?? error} />
      {acls.data !== undefined && (
        <AclTable
          acls={shownAcls}
          label="ACLs"
          onRemove={async (a) => {
            setError(undefined);
            try {
              await sec.removeAcl(a.id);
              acls.reload();
            } catch (err) {
              setError(err);
            }
          }}
        />
      )}
      <AddAcl sec={sec} principals={names} onAdded={acls.reload} />
    </>
  );
}

export function SecurityPage() {
  const s = session.value!;
  const sec = s.security();
  const inUse = keyIdOf(s.key);
  return (
    <>
      <Title>Security</Title>
      {!s.authEnabled && <p class="note">Authentication is off on this broker: every request acts as a superuser, and principals, keys and ACLs take effect once it is on.</p>}
      <MyAccess s={s} />
      {sec === undefined ? (
        <AskForKey superuser={s.me.superuser} />
      ) : s.me.superuser ? (
        <Manage sec={sec} me={s.me.principal} inUse={inUse} />
      ) : (
        <Keys sec={sec} principal={s.me.principal} inUse={inUse} />
      )}
    </>
  );
}
