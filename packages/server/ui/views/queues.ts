import { html } from 'htm/preact';
import { Plot } from '../chart.js';
import { num } from '../format.js';
import { notices, series, stats } from '../live.js';
import { queues } from '../queue-depths.js';

const PRIORITIES = ['critical', 'high', 'normal', 'low'];

/** Queue depths by capability × priority with sparklines, and throughput and latency plots. */
export function QueuesView() {
  const s = stats.value;
  const t = series.value.t;
  // The deepest queues first: they are the ones an operator looks for.
  const rows = [...queues.value.values()].sort(
    (a, b) =>
      b.depth - a.depth ||
      a.capability.localeCompare(b.capability) ||
      PRIORITIES.indexOf(a.priority) - PRIORITIES.indexOf(b.priority),
  );
  return html`
    <section>
      <header class="view-head">
        <h1>Queues and throughput</h1>
        ${s && html`<span class="muted">${num(s.tasks.submitted)} submitted, ${num(s.tasks.completed)} completed, ${num(s.tasks.dead)} dead</span>`}
      </header>
      ${notices.value.stats && html`<p class="notice">${notices.value.stats}</p>`}
      ${notices.value.queues && html`<p class="notice">${notices.value.queues}</p>`}
      <div class="cards">
        <div class="card"><span class="label">Queued</span><strong data-testid="depth">${num(s?.queue.depth)}</strong></div>
        ${PRIORITIES.map(
          (p) =>
            html`<div class="card" key=${p}><span class="label">${p}</span><strong>${num(s?.queue.byPriority[p])}</strong></div>`,
        )}
        <div class="card"><span class="label">Throughput</span><strong>${num(s?.throughputPerSec)}/s</strong></div>
        <div class="card"><span class="label">p50 / p99</span><strong>${num(s?.latencyMs.p50, 0)} / ${num(s?.latencyMs.p99, 0)} ms</strong></div>
        <div class="card"><span class="label">Agents busy</span><strong>${num(s?.agents.busy)} / ${num(s?.agents.total)}</strong></div>
      </div>
      <div class="plots">
        <figure>
          <figcaption>Throughput (completions per second)</figcaption>
          <${Plot} t=${t} lines=${[{ label: 'tasks/s', color: '--accent', values: series.value.throughput }]} unit="" />
        </figure>
        <figure>
          <figcaption>Latency, submit to completion</figcaption>
          <${Plot} t=${t} lines=${[
            { label: 'p50', color: '--accent', values: series.value.p50 },
            { label: 'p99', color: '--warn', values: series.value.p99 },
          ]} unit=" ms" />
        </figure>
        <figure>
          <figcaption>Queued tasks</figcaption>
          <${Plot} t=${t} lines=${[{ label: 'queued', color: '--ok', values: series.value.depth }]} />
        </figure>
      </div>
      <h2>By capability and priority</h2>
      <table class="grid" data-testid="queues">
        <thead>
          <tr><th>Capability</th><th>Priority</th><th class="num">Depth</th><th class="num">In/s</th><th class="num">Out/s</th><th class="spark-col">Depth, last minutes</th></tr>
        </thead>
        <tbody>
          ${rows.length === 0 && html`<tr><td colspan="6" class="empty">No task queued.</td></tr>`}
          ${rows.map(
            (
              row,
            ) => html`<tr key=${`${row.capability}|${row.priority}`} data-queue=${`${row.capability}|${row.priority}`}>
              <td><span class="chip">${row.capability}</span></td>
              <td><span class=${`prio p-${row.priority}`}>${row.priority}</span></td>
              <td class="num" data-testid="queue-depth">${num(row.depth)}</td>
              <td class="num">${num(row.inRate)}</td>
              <td class="num">${num(row.outRate)}</td>
              <td class="spark-col"><${Plot} spark height=${28} t=${t.slice(-row.history.length)} lines=${[{ label: 'depth', color: '--accent', values: row.history }]} /></td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${s?.fairness && html`<${FairnessKeys} keys=${s.fairness.keys} />`}
      <p class="hint">The totals come from <code>/v1/stats</code>; the rows by capability start from the tasks queued when this page opened and follow the event stream.</p>
    </section>`;
}

type KeyFigures = NonNullable<NonNullable<typeof stats.value>['fairness']>['keys'];

/** The fairness keys with the most tasks queued and leased, from `/v1/stats`. */
function FairnessKeys({ keys }: { keys: KeyFigures }) {
  return html`
    <h2>Fairness keys with the most work</h2>
    <table class="grid" data-testid="fairness-keys">
      <thead>
        <tr><th>Key</th><th class="num">Queued</th><th class="num">Leased</th><th class="num">Leases/s</th></tr>
      </thead>
      <tbody>
        ${keys.length === 0 && html`<tr><td colspan="4" class="empty">No key has work.</td></tr>`}
        ${keys.map(
          (k) => html`<tr key=${k.key} data-fairness-key=${k.key}>
            <td><span class="chip">${k.key}</span></td>
            <td class="num" data-testid="key-queued">${num(k.queued)}</td>
            <td class="num">${num(k.leased)}</td>
            <td class="num">${k.leasesPerSec === undefined ? '–' : num(k.leasesPerSec)}</td>
          </tr>`,
        )}
      </tbody>
    </table>`;
}
