import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { agents } from '../agent-rows.js';
import { clock, matchesTopics } from '../format.js';
import { tail } from '../live.js';

const PRESETS = [
  '',
  'task.*',
  'agent.*',
  'task.failed,task.dead',
  'agent.failed,agent.promoted',
  'pool.*',
];

/** An event's fields but its task id, `name=value`, agents by name when the page knows them. */
function describeFields(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .filter(([name]) => name !== 'taskId')
    .map(([name, value]) => {
      if (name === 'agentId' && typeof value === 'string') {
        return `agent=${agents.value.get(value)?.name ?? value}`;
      }
      return `${name}=${typeof value === 'string' ? value : JSON.stringify(value)}`;
    })
    .join(', ');
}

/** The latest events, newest first, filtered by topic patterns; pausable. */
export function EventsView() {
  const [filter, setFilter] = useState('');
  const [paused, setPaused] = useState<readonly unknown[] | undefined>(undefined);
  const patterns = filter
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const events = (paused ?? tail.value) as typeof tail.value;
  const shown = events.filter((e) => matchesTopics(e.topic, patterns));
  return html`<section>
    <header class="view-head">
      <h1>Events</h1>
      <span class="muted">${shown.length} of the last ${events.length}</span>
      <span class="grow"></span>
      <button onClick=${() => setPaused(paused ? undefined : tail.value)}>${paused ? 'Resume' : 'Pause'}</button>
    </header>
    <form class="search" onSubmit=${(e: Event) => e.preventDefault()}>
      <input name="topics" placeholder="Topics, e.g. task.*,agent.failed" value=${filter} list="topic-presets"
        onInput=${(e: Event) => setFilter((e.target as HTMLInputElement).value)} />
      <datalist id="topic-presets">${PRESETS.filter(Boolean).map((p) => html`<option key=${p} value=${p} />`)}</datalist>
      <span class="hint"><code>*</code> matches one segment, <code>**</code> any number.</span>
    </form>
    <table class="grid events" data-testid="events">
      <thead><tr><th>Time</th><th>Topic</th><th>Fields</th></tr></thead>
      <tbody>
        ${shown.length === 0 && html`<tr><td colspan="3" class="empty">No event matches yet.</td></tr>`}
        ${shown.map((e) => {
          const { topic, at, eventId, ...fields } = e;
          const taskId = typeof fields.taskId === 'string' ? fields.taskId : undefined;
          return html`<tr key=${eventId ?? `${at}-${topic}`}>
            <td>${clock(at)}</td>
            <td><span class=${`topic k-${topic.split('.')[0]}`}>${topic}</span></td>
            <td class="mono fields-cell">${taskId && html`<a href=${`#/tasks/${encodeURIComponent(taskId)}`}>${taskId}</a> `}${describeFields(fields)}</td>
          </tr>`;
        })}
      </tbody>
    </table>
  </section>`;
}
