import type { StreamEvent } from '@switchboard/client';
import type { TaskView } from '@switchboard/core';
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { agents } from '../agent-rows.js';
import { describeError, session, statusOf } from '../api.js';
import { clock, duration, pretty } from '../format.js';
import { taskTouched, trails } from '../live.js';
import { navigate } from '../route.js';

const STATUSES = ['queued', 'leased', 'completed', 'dead', 'cancelled'];
const TERMINAL = new Set(['completed', 'dead', 'cancelled']);

function client() {
  const s = session.value;
  if (s.kind !== 'signed-in') throw new Error('not signed in');
  return s.client;
}

/** An agent's name when the page knows it, else its id. */
function agentName(id: string): string {
  return agents.value.get(id)?.name ?? id;
}

function StatusBadge({ status }: { status: string }) {
  return html`<span class=${`status t-${status}`} data-testid="task-status">${status}</span>`;
}

/** What happened to a task, attempt by attempt, from the events this page saw. */
function Trail({ events }: { events: readonly StreamEvent[] }) {
  if (events.length === 0) {
    return html`<p class="muted">No event of this task reached this page (it ran before the page opened).</p>`;
  }
  return html`<ol class="timeline">
    ${events.map((e, i) => {
      const f = e as StreamEvent & Record<string, unknown>;
      const error = f.error as { message?: string; code?: string } | undefined;
      const parts = [
        typeof f.agentId === 'string' && `agent ${agentName(f.agentId)}`,
        f.attempt !== undefined && `attempt ${f.attempt}`,
        error && `${error.code ? `${error.code}: ` : ''}${error.message}`,
        f.willRetry === true && 'will retry',
      ].filter(Boolean);
      return html`<li key=${i}>
        <time>${clock(e.at)}</time>
        <span class=${`status t-${e.topic.slice(5)}`}>${e.topic.slice(5)}</span>
        <span class="muted">${parts.join(', ')}</span>
      </li>`;
    })}
  </ol>`;
}

/** One task: its fields, timings, result or error, its events, and cancel. */
export function TaskDetail({ id }: { id: string }) {
  const [task, setTask] = useState<TaskView | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const touched = taskTouched.value;
  const refresh = () =>
    client()
      .getTask(id)
      .then((t) => {
        setTask(t);
        setError(undefined);
      })
      .catch((e: unknown) =>
        setError(statusOf(e) === 404 ? `No task ${id}.` : describeError(e, 'Reading the task')),
      );
  useEffect(() => {
    setTask(undefined);
    void refresh();
  }, [id]);
  // Read it again whenever the stream says something about it.
  useEffect(() => {
    if (touched.id === id) void refresh();
  }, [touched.n]);
  const events = trails.get(id) ?? [];
  const cancel = async () => {
    setBusy(true);
    try {
      setTask(await client().cancel(id));
    } catch (e) {
      setError(
        statusOf(e) === 409
          ? 'The task already ended; nothing to cancel.'
          : describeError(e, 'Cancelling'),
      );
    } finally {
      setBusy(false);
    }
  };
  const firstLease = events.find((e) => e.topic === 'task.leased');
  return html`<section class="detail" data-testid="task-detail">
    <header class="view-head">
      <h1>Task <span class="mono">${id}</span></h1>
      ${task && html`<${StatusBadge} status=${task.status} />`}
      <span class="grow"></span>
      ${task && !TERMINAL.has(task.status) && html`<button class="danger" disabled=${busy} onClick=${cancel}>Cancel</button>`}
    </header>
    ${error && html`<p class="notice">${error}</p>`}
    ${
      task &&
      html`
      <dl class="fields">
        <dt>Capability</dt><dd><span class="chip">${task.capability}</span></dd>
        <dt>Priority</dt><dd><span class=${`prio p-${task.priority}`}>${task.priority}</span></dd>
        <dt>Attempts</dt><dd>${task.attempts} of ${task.maxAttempts}</dd>
        <dt>Agent</dt><dd>${task.agentId === undefined ? '–' : html`${agentName(task.agentId)} <span class="sub mono">${task.agentId}</span>`}</dd>
        <dt>Idempotency key</dt><dd class="mono">${task.idempotencyKey ?? '–'}</dd>
        <dt>Session key</dt><dd class="mono">${task.sessionKey ?? '–'}</dd>
        <dt>Created</dt><dd>${new Date(task.createdAt).toISOString()}</dd>
        <dt>Updated</dt><dd>${new Date(task.updatedAt).toISOString()} (${duration(task.updatedAt - task.createdAt)} after creation)</dd>
        <dt>Waited in queue</dt><dd>${firstLease ? duration(firstLease.at - task.createdAt) : '–'}</dd>
      </dl>
      ${task.error && html`<h2>Last error</h2><pre class="error-box">${pretty(task.error)}</pre>`}
      ${task.result !== undefined && html`<h2>Result</h2><pre>${pretty(task.result)}</pre>`}
    `
    }
    <h2>Attempts and events</h2>
    <${Trail} events=${events} />
  </section>`;
}

/** Find tasks by id, idempotency key or status, and open one. */
export function TasksView() {
  const [query, setQuery] = useState('');
  const [status, setStatus] = useState('');
  const [capability, setCapability] = useState('');
  const [found, setFound] = useState<readonly TaskView[] | undefined>(undefined);
  const [next, setNext] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const search = async (event?: Event, cursor?: string) => {
    event?.preventDefault();
    setError(undefined);
    const text = query.trim();
    try {
      const page = await client().listTasks({
        ...(status === '' ? {} : { status: status as TaskView['status'] }),
        ...(capability.trim() === '' ? {} : { capability: capability.trim() }),
        ...(text === '' ? {} : { idempotencyKey: text }),
        ...(cursor === undefined ? {} : { cursor }),
        limit: 50,
      });
      // No task has that idempotency key: the text may be a task's id.
      if (page.tasks.length === 0 && text !== '' && cursor === undefined) {
        try {
          const task = await client().getTask(text);
          navigate(`tasks/${encodeURIComponent(task.id)}`);
          return;
        } catch (e) {
          if (statusOf(e) !== 404) throw e;
        }
      }
      setFound(cursor === undefined ? page.tasks : [...(found ?? []), ...page.tasks]);
      setNext(page.nextCursor);
    } catch (e) {
      setError(describeError(e, 'Searching'));
    }
  };
  // The newest tasks, until a search asks for others.
  useEffect(() => {
    void search();
  }, []);
  return html`<section>
    <header class="view-head"><h1>Tasks</h1><span class="muted">newest first</span></header>
    <form class="search" onSubmit=${search}>
      <input name="q" placeholder="Task id or idempotency key" value=${query}
        onInput=${(e: Event) => setQuery((e.target as HTMLInputElement).value)} />
      <input name="capability" placeholder="Capability" value=${capability}
        onInput=${(e: Event) => setCapability((e.target as HTMLInputElement).value)} />
      <select name="status" value=${status} onChange=${(e: Event) => setStatus((e.target as HTMLSelectElement).value)}>
        <option value="">any status</option>
        ${STATUSES.map((s) => html`<option key=${s} value=${s}>${s}</option>`)}
      </select>
      <button type="submit">Find</button>
    </form>
    ${error && html`<p class="notice">${error}</p>`}
    ${
      found &&
      html`<table class="grid" data-testid="task-list">
      <thead><tr><th>Task</th><th>Status</th><th>Capability</th><th>Priority</th><th class="num">Attempts</th><th>Created</th></tr></thead>
      <tbody>
        ${found.length === 0 && html`<tr><td colspan="6" class="empty">No task matches.</td></tr>`}
        ${found.map(
          (
            t,
          ) => html`<tr key=${t.id} class="link" onClick=${() => navigate(`tasks/${encodeURIComponent(t.id)}`)}>
            <td class="mono">${t.id}</td><td><${StatusBadge} status=${t.status} /></td>
            <td><span class="chip">${t.capability}</span></td><td><span class=${`prio p-${t.priority}`}>${t.priority}</span></td>
            <td class="num">${t.attempts}/${t.maxAttempts}</td><td>${clock(t.createdAt)}</td>
          </tr>`,
        )}
      </tbody>
    </table>`
    }
    ${next && html`<button onClick=${() => search(undefined, next)}>More</button>`}
  </section>`;
}
