import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { describeError, session } from '../api.js';
import { clock, pretty } from '../format.js';
import { deadLetters, notices, refreshDeadLetters } from '../live.js';
import { navigate } from '../route.js';

/** The dead-letter queue: inspect, replay and delete, one task or the selected ones (admin). */
export function DeadLettersView() {
  const s = session.value;
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [open, setOpen] = useState<string | undefined>(undefined);
  const [message, setMessage] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  if (s.kind !== 'signed-in') return null;
  if (s.access !== 'admin') {
    return html`<section>
      <header class="view-head"><h1>Dead letters</h1></header>
      <p class="notice" data-testid="admin-only">Dead letters need an admin token: this tab's token has the
        ${' '}<strong>${s.access}</strong> scope, which may not read, replay or delete them. Sign in with an admin token to manage them.</p>
    </section>`;
  }
  const tasks = deadLetters.value ?? [];
  const ids = tasks.map((t) => t.id).filter((id) => selected.has(id));
  const act = async (verb: 'replay' | 'delete', which: readonly string[]) => {
    setBusy(true);
    setMessage(undefined);
    const failures: string[] = [];
    for (const id of which) {
      try {
        if (verb === 'replay') await s.client.replay(id);
        else await s.client.deleteDeadLetter(id);
      } catch (error) {
        failures.push(
          describeError(error, `${verb === 'replay' ? 'Replaying' : 'Deleting'} ${id}`),
        );
      }
    }
    const done = which.length - failures.length;
    setMessage(
      `${verb === 'replay' ? 'Replayed' : 'Deleted'} ${done} of ${which.length}.${failures.length ? ` ${failures.join(' ')}` : ''}`,
    );
    setSelected(new Set());
    await refreshDeadLetters(s.client);
    setBusy(false);
  };
  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  return html`<section>
    <header class="view-head">
      <h1>Dead letters</h1>
      <span class="muted">${tasks.length} task${tasks.length === 1 ? '' : 's'}</span>
      <span class="grow"></span>
      <button disabled=${busy || ids.length === 0} onClick=${() => act('replay', ids)}>Replay ${ids.length || ''} selected</button>
      <button class="danger" disabled=${busy || ids.length === 0} onClick=${() => {
        if (confirm(`Delete ${ids.length} dead letter${ids.length === 1 ? '' : 's'} for good?`))
          void act('delete', ids);
      }}>Delete selected</button>
    </header>
    ${notices.value['dead-letters'] && html`<p class="notice">${notices.value['dead-letters']}</p>`}
    ${message && html`<p class="info" data-testid="dlq-message">${message}</p>`}
    <table class="grid" data-testid="dead-letters">
      <thead><tr>
        <th><input type="checkbox" aria-label="Select all" checked=${tasks.length > 0 && ids.length === tasks.length}
          onChange=${(e: Event) => setSelected((e.target as HTMLInputElement).checked ? new Set(tasks.map((t) => t.id)) : new Set())} /></th>
        <th>Task</th><th>Capability</th><th class="num">Attempts</th><th>Last error</th><th>Died</th><th></th>
      </tr></thead>
      <tbody>
        ${tasks.length === 0 && html`<tr><td colspan="7" class="empty">No dead letter.</td></tr>`}
        ${tasks.map(
          (t) => html`
          <tr key=${t.id} data-dead=${t.id}>
            <td><input type="checkbox" aria-label=${`Select ${t.id}`} checked=${selected.has(t.id)} onChange=${() => toggle(t.id)} /></td>
            <td><a class="mono" href=${`#/tasks/${encodeURIComponent(t.id)}`}>${t.id}</a></td>
            <td><span class="chip">${t.capability}</span></td>
            <td class="num">${t.attempts}/${t.maxAttempts}</td>
            <td class="error-text">${t.error?.code ? html`<strong>${t.error.code}</strong> ` : ''}${t.error?.message ?? '–'}</td>
            <td>${clock(t.updatedAt)}</td>
            <td class="actions">
              <button class="small" onClick=${() => setOpen(open === t.id ? undefined : t.id)}>${open === t.id ? 'Close' : 'Inspect'}</button>
              <button class="small" disabled=${busy} onClick=${() => act('replay', [t.id])}>Replay</button>
              <button class="small danger" disabled=${busy} onClick=${() => {
                if (confirm(`Delete dead letter ${t.id} for good?`)) void act('delete', [t.id]);
              }}>Delete</button>
            </td>
          </tr>
          ${
            open === t.id &&
            html`<tr class="expanded" key=${`${t.id}-open`}><td></td><td colspan="6">
            <pre>${pretty(t)}</pre>
            <button class="small" onClick=${() => navigate(`tasks/${encodeURIComponent(t.id)}`)}>Open the task</button>
          </td></tr>`
          }`,
        )}
      </tbody>
    </table>
  </section>`;
}
