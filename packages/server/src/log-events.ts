import type { BusEvent, EventBus } from '@switchboard/core';
import type { ServerLogger } from './log.js';

/** An event's data as the engine publishes it (docs/http.md, "Events"). */
type Data = Record<string, unknown>;

const str = (value: unknown): string => (typeof value === 'string' ? value : String(value));

/** `name (id)`, or the id alone when the event has no name. */
function agent(e: Data): string {
  return typeof e.name === 'string' ? `${e.name} (${str(e.agentId)})` : str(e.agentId);
}

/** `agent.failed`'s recovery decision in words: `restart in 200 ms`, `replace`, `give up: …`. */
function action(value: unknown): string {
  if (typeof value !== 'object' || value === null) return 'none';
  const a = value as Data;
  if (a.action === 'restart') return `restart in ${str(a.delayMs)} ms`;
  if (a.action === 'give_up') return `give up (${str(a.reason)})`;
  if (a.action === 'degrade') return `degrade (min priority ${str(a.minPriority)})`;
  return str(a.action);
}

/** The message of an event's `error` field (`{ message }` or a string). */
function errorOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && 'message' in value) {
    return str((value as { message: unknown }).message);
  }
  return 'no error given';
}

/** The fields of a JSON line: the event's data without what the line itself carries. */
function fields(e: BusEvent): Data {
  const { topic, at, ...rest } = e as BusEvent & Data;
  return { event: topic, ...rest };
}

/**
 * The events that make one log line each, with their level and message. An in-process
 * agent's state changes are left out: an agent moves between ready and working with every
 * task, which would be a line per task.
 */
const LINES: Readonly<Record<string, (e: Data) => ['info' | 'warn', string]>> = {
  'agent.registered': (e) => [
    'info',
    `agent ${agent(e)} registered (${e.remote === true ? 'remote' : 'in-process'}, capabilities ${
      Array.isArray(e.capabilities) ? e.capabilities.join(', ') : 'none'
    })`,
  ],
  'agent.failed': (e) => [
    'warn',
    `agent ${agent(e)} failed: ${str(e.reason)} (${str(e.error)}); recovery: ${action(e.action)}`,
  ],
  'agent.promoted': (e) => [
    'info',
    `agent ${agent(e)} promoted from standby in place of ${str(e.replaces)}`,
  ],
  'agent.removed': (e) => ['info', `agent ${agent(e)} removed`],
  'task.dead': (e) => [
    'warn',
    `task ${str(e.taskId)} (${str(e.capability)}) dead-lettered after ${str(e.attempts)} attempts: ${errorOf(e.error)}`,
  ],
  'pool.scaled': (e) => [
    'info',
    `pool ${str(e.name)} scaled from ${str(e.from)} to ${str(e.to)} (${str(e.reason)})`,
  ],
  'pool.updated': (e) => [
    'info',
    `pool ${str(e.name)} rolling update ${str(e.phase)}: ${str(e.fromVersion)} → ${str(e.toVersion)}${
      typeof e.reason === 'string' ? ` (${e.reason})` : ''
    }`,
  ],
};

/**
 * Logs, one line each, the engine's events an operator cares about: agents registered,
 * failed, promoted and removed, tasks dead-lettered, pools scaled and updated. Subscribes
 * only to those topics, so the events of every task (queued, leased, completed) are still
 * built only for those who follow them. On a backend several processes share, the events
 * of the others (they carry their `origin`) are left to the log of the process they
 * happened in, so that a line is not repeated by every server. Returns the unsubscription.
 */
export function logEvents(events: EventBus, log: ServerLogger): () => void {
  const offs = Object.entries(LINES).map(([topic, line]) =>
    events.subscribe(topic, (event) => {
      if (typeof event.origin === 'string') return;
      const [level, message] = line(event as BusEvent & Data);
      log[level](fields(event), message);
    }),
  );
  return () => {
    for (const off of offs) off();
  };
}
