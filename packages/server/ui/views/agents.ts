import { html } from 'htm/preact';
import { type AgentRow, agents, timeline } from '../agent-rows.js';
import { session } from '../api.js';
import { now } from '../clock.js';
import { clock, duration, num, percent, quantile } from '../format.js';
import { notices } from '../live.js';

// In-process agents do not heartbeat over HTTP: their health is checked inside the server.
function heartbeat(row: AgentRow): string {
  const view = row.view;
  if (view === undefined || row.gone !== undefined || !view.remote) return '–';
  return `${duration(Math.max(0, now.value - view.lastHeartbeatAt))} ago`;
}

/** A heartbeat older than half the agent's timeout is worth a look before it fails. */
function heartbeatLate(row: AgentRow): boolean {
  const view = row.view;
  if (view === undefined || row.gone !== undefined || !view.remote) return false;
  if (view.heartbeatTimeoutMs === 0) return false;
  return now.value - view.lastHeartbeatAt > view.heartbeatTimeoutMs / 2;
}

function Load({ row }: { row: AgentRow }) {
  const view = row.view;
  if (view === undefined) return html`<span class="muted">–</span>`;
  const share = Math.min(1, view.activeTasks / Math.max(1, view.maxConcurrency));
  return html`<span class="load">
    <span class="bar"><span style=${{ width: `${share * 100}%` }}></span></span>
    ${view.activeTasks}/${view.maxConcurrency}
  </span>`;
}

/** The agents, in-process and remote, with their health figures and a timeline of state changes. */
export function AgentsView() {
  const rows = [...agents.value.values()].sort(
    (a, b) =>
      Number(a.gone !== undefined) - Number(b.gone !== undefined) || a.name.localeCompare(b.name),
  );
  const live = rows.filter((r) => r.gone === undefined).length;
  return html`
    <section>
      <header class="view-head">
        <h1>Agents</h1>
        <span class="muted">${live} in the pool, ${rows.length - live} gone</span>
      </header>
      ${session.value.kind === 'signed-in' && session.value.access === 'client' && html`<p class="notice">A client token may not list agents: the table shows the agents the event stream reported since this page opened.</p>`}
      ${notices.value.agents && html`<p class="notice">${notices.value.agents} The table shows the agents the event stream reported.</p>`}
      <table class="grid" data-testid="agents">
        <thead>
          <tr>
            <th>Agent</th><th>State</th><th>Kind</th><th>Capabilities</th><th>Load</th>
            <th>Heartbeat</th><th class="num">Done</th><th class="num">Error rate</th>
            <th class="num">p50</th><th class="num">p99</th><th class="num">Failovers</th>
          </tr>
        </thead>
        <tbody>
          ${rows.length === 0 && html`<tr><td colspan="11" class="empty">No agent yet.</td></tr>`}
          ${rows.map(
            (row) => html`
              <tr key=${row.id} data-agent=${row.name} class=${row.gone ? 'gone' : ''}>
                <td><strong>${row.name}</strong><div class="sub mono">${row.id}</div></td>
                <td><span class=${`state s-${row.state}`} data-testid="agent-state">${row.state}</span>
                  ${row.gone && row.gone !== 'removed' && html`<div class="sub">${row.gone}</div>`}</td>
                <td>${row.remote === undefined ? '–' : row.remote ? 'remote' : 'in-process'}</td>
                <td>${row.capabilities.map((c) => html`<span class="chip" key=${c}>${c}</span>`)}</td>
                <td><${Load} row=${row} /></td>
                <td class=${heartbeatLate(row) ? 'warn' : ''}>${heartbeat(row)}</td>
                <td class="num">${num(row.completed)}</td>
                <td class="num">${percent(row.failed, row.completed + row.failed)}</td>
                <td class="num">${duration(quantile(row.latencies, 0.5))}</td>
                <td class="num">${duration(quantile(row.latencies, 0.99))}</td>
                <td class="num">${num(row.failovers)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      <p class="hint">Error rate, latency (lease to completion) and failovers count what happened while this page was open.</p>
      <h2>State changes</h2>
      <ol class="timeline" data-testid="timeline">
        ${timeline.value.length === 0 && html`<li class="empty">Nothing yet: changes appear as they happen.</li>`}
        ${timeline.value.map(
          (c, i) => html`<li key=${`${c.at}-${i}`}>
            <time>${clock(c.at)}</time>
            <strong>${c.name}</strong>
            <span class=${`state s-${c.to}`}>${c.to}</span>
            <span class="muted">${c.detail}</span>
          </li>`,
        )}
      </ol>
    </section>`;
}
