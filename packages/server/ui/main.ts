// The dashboard: Preact components written with htm (no build-time JSX), state in signals,
// live from the event stream and /v1/stats. Bundled by scripts/build-ui.mjs.
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { effect, untracked } from '@preact/signals';
import { html } from 'htm/preact';
import { render } from 'preact';
import { agents } from './agent-rows.js';
import { apiBase, connect, session, signOut } from './api.js';
import { deadLetters, follow, streamState } from './live.js';
import { route } from './route.js';
import { AgentsView } from './views/agents.js';
import { DeadLettersView } from './views/dead-letters.js';
import { EventsView } from './views/events.js';
import { Login } from './views/login.js';
import { QueuesView } from './views/queues.js';
import { TaskDetail, TasksView } from './views/tasks.js';

const VIEWS = [
  { path: 'agents', label: 'Agents' },
  { path: 'queues', label: 'Queues' },
  { path: 'tasks', label: 'Tasks' },
  { path: 'dead-letters', label: 'Dead letters' },
  { path: 'events', label: 'Events' },
];

function Count({ n }: { n: number | undefined }) {
  return n === undefined || n === 0 ? null : html`<span class="count">${n}</span>`;
}

function Shell() {
  const s = session.value;
  if (s.kind !== 'signed-in') return null;
  const [view = 'agents', arg] = route.value;
  const live = [...agents.value.values()].filter((a) => a.gone === undefined).length;
  const counts: Record<string, number | undefined> = {
    agents: live,
    'dead-letters': deadLetters.value?.length,
  };
  return html`<div class="shell">
    <nav class="side">
      <div class="brand"><span class="logo">◆</span> Switchboard</div>
      ${VIEWS.map(
        (v) => html`<a key=${v.path} href=${`#/${v.path}`} class=${view === v.path ? 'active' : ''}>
          ${v.label}<${Count} n=${counts[v.path]} />
        </a>`,
      )}
      <div class="side-foot">
        <div><span class=${`dot ${streamState.value === 'live' ? 'ok' : 'bad'}`}></span>
          <span data-testid="stream-state">${streamState.value}</span></div>
        <div class="muted mono">${new URL(apiBase).host}${new URL(apiBase).pathname}</div>
        <div><span class="badge" data-testid="scope">${s.authOn ? `${s.access} token` : 'auth off'}</span>
          ${s.authOn && html`<button class="link-button" onClick=${signOut}>Sign out</button>`}</div>
      </div>
    </nav>
    <main class="content">
      ${view === 'agents' && html`<${AgentsView} />`}
      ${view === 'queues' && html`<${QueuesView} />`}
      ${view === 'tasks' && (arg === undefined ? html`<${TasksView} />` : html`<${TaskDetail} id=${arg} />`)}
      ${view === 'dead-letters' && html`<${DeadLettersView} />`}
      ${view === 'events' && html`<${EventsView} />`}
      ${!VIEWS.some((v) => v.path === view) && html`<p class="notice">There is no view “${view}”: pick one on the left.</p>`}
    </main>
  </div>`;
}

function App() {
  const s = session.value;
  if (s.kind === 'checking')
    return html`<main class="login"><p class="muted">Connecting…</p></main>`;
  if (s.kind === 'needs-token') return html`<${Login} refused=${s.refused} />`;
  if (s.kind === 'unreachable') {
    return html`<main class="login"><div><p class="notice">${s.message}</p>
      <button onClick=${() => void connect()}>Try again</button></div></main>`;
  }
  return html`<${Shell} />`;
}

// One follower per sign-in: signing out (or in with another token) stops the previous one.
let following: AbortController | undefined;
effect(() => {
  const s = session.value;
  following?.abort();
  following = undefined;
  if (s.kind === 'signed-in') {
    const controller = new AbortController();
    following = controller;
    // Only the session drives this effect: what follow() reads as it starts must not.
    untracked(() => follow(s.client, s.access, controller.signal));
  }
});

render(html`<${App} />`, document.getElementById('app')!);
void connect();
