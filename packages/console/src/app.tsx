/**
 * The console's shell: resumes or asks for a session, then shows the navigation and the page the
 * hash route names. Pages talk to the broker only through the session's @webka/client objects.
 */
import { useEffect, useState } from 'preact/hooks';
import { route, href, type Route } from './router.js';
import { resume, session, signIn, signInReason, signOut } from './session.js';
import { useValue } from './signal.js';
import { theme, setTheme, type Theme } from './theme.js';
import { ErrorNote } from './components/ui.js';
import { TopicsPage, TopicPage } from './pages/topics.js';
import { MessagesPage } from './pages/messages.js';
import { GroupsPage, GroupPage } from './pages/groups.js';
import { OverviewPage } from './pages/overview.js';
import { StreamsPage, StreamPage } from './pages/streams.js';
import { SecurityPage } from './pages/security.js';

function SignIn() {
  const reason = useValue(signInReason);
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  return (
    <main class="sign-in">
      <h1>Webka console</h1>
      {reason !== '' && <p class="note">{reason}</p>}
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          try {
            await signIn(key.trim());
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        <label>
          API key
          <input type="password" name="apiKey" autoComplete="off" value={key} onInput={(e) => setKey(e.currentTarget.value)} required autoFocus />
        </label>
        <p class="muted">The key is exchanged for a browser token valid for one hour; the key itself is not stored.</p>
        <button type="submit" disabled={busy || key.trim() === ''}>
          Sign in
        </button>
        <ErrorNote error={error} />
      </form>
    </main>
  );
}

function ThemePicker() {
  const t = useValue(theme);
  return (
    <label class="row-label">
      Theme
      <select name="theme" value={t} onChange={(e) => setTheme(e.currentTarget.value as Theme)}>
        <option value="system">system</option>
        <option value="light">light</option>
        <option value="dark">dark</option>
      </select>
    </label>
  );
}

function clusterOf(r: Route): string {
  return 'cluster' in r ? r.cluster : 'default';
}

function Page({ r }: { r: Route }) {
  switch (r.page) {
    case 'groups':
      return <GroupsPage cluster={r.cluster} />;
    case 'group':
      return <GroupPage key={`${r.cluster}/${r.group}`} cluster={r.cluster} group={r.group} />;
    case 'messages':
      return <MessagesPage key={`${r.cluster}/${r.topic}`} cluster={r.cluster} topic={r.topic} />;
    case 'topic':
      return <TopicPage key={`${r.cluster}/${r.topic}`} cluster={r.cluster} topic={r.topic} />;
    case 'topics':
      return <TopicsPage cluster={r.cluster} />;
    case 'streams':
      return <StreamsPage />;
    case 'stream':
      return <StreamPage key={r.path} path={r.path} />;
    case 'overview':
      return <OverviewPage />;
    case 'security':
      return <SecurityPage />;
    default:
      return <TopicsPage cluster={clusterOf(r)} />;
  }
}

function Shell() {
  const s = useValue(session)!;
  const r = useValue(route);
  const cluster = clusterOf(r);
  return (
    <div class="shell">
      <header class="top">
        <a class="brand" href={href.overview()}>
          Webka
        </a>
        <nav aria-label="Console">
          <a href={href.overview()} aria-current={r.page === 'overview' ? 'page' : undefined}>
            Overview
          </a>
          <a href={href.topics(cluster)} aria-current={r.page === 'topics' || r.page === 'topic' || r.page === 'messages' ? 'page' : undefined}>
            Topics
          </a>
          <a href={href.groups(cluster)} aria-current={r.page === 'groups' || r.page === 'group' ? 'page' : undefined}>
            Consumer groups
          </a>
          <a href={href.streams()} aria-current={r.page === 'streams' || r.page === 'stream' ? 'page' : undefined}>
            Durable Streams
          </a>
          <a href={href.security()} aria-current={r.page === 'security' ? 'page' : undefined}>
            Security
          </a>
        </nav>
        <span class="who">
          <ThemePicker />
          <span data-testid="principal">{s.me.principal}</span>
          {s.authEnabled && (
            <button type="button" onClick={signOut}>
              Sign out
            </button>
          )}
        </span>
      </header>
      <main class="page">
        <Page r={r} />
      </main>
    </div>
  );
}

export function App() {
  const s = useValue(session);
  const [state, setState] = useState<'starting' | 'ready'>('starting');
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    resume().then(
      () => setState('ready'),
      (err: unknown) => {
        setError(err);
        setState('ready');
      },
    );
  }, []);
  if (state === 'starting') return <p class="muted">Connecting…</p>;
  if (s === null) {
    return (
      <>
        <ErrorNote error={error} />
        <SignIn />
      </>
    );
  }
  return <Shell />;
}
