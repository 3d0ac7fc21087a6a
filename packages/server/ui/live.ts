import { batch, signal } from '@preact/signals';
import type { StreamEvent, SwitchboardClient } from '@switchboard/client';
import type { Stats, TaskView } from '@switchboard/core';
import { agents, completedBy, mergeAgents, stateChange, updateAgent } from './agent-rows.js';
import { type Access, describeError, statusOf } from './api.js';
import {
  agentFailed,
  forget,
  leased,
  queued,
  retried,
  sampleQueues,
  seedQueues,
} from './queue-depths.js';

/** How often `/v1/stats` (and the agent list) are read, and so the plots' resolution. */
export const POLL_MS = 2_000;
/** How much history the plots keep: ten minutes. */
const HISTORY = 300;
const TAIL = 500;
const TRAILS = 2_000;
const FLUSH_MS = 100;

/** The plots' series, one point per poll. */
export interface Series {
  t: number[];
  throughput: number[];
  p50: number[];
  p99: number[];
  depth: number[];
}

export const stats = signal<Stats | undefined>(undefined);
export const series = signal<Series>({ t: [], throughput: [], p50: [], p99: [], depth: [] });
export const tail = signal<readonly StreamEvent[]>([]);
export const deadLetters = signal<readonly TaskView[] | undefined>(undefined);
/** `live` while the stream delivers, else what went wrong. */
export const streamState = signal<string>('connecting');
/** Why a part of the page cannot show what it should (a scope, an unreachable server). */
export const notices = signal<Readonly<Record<string, string>>>({});
/** Bumped on every event of a task, so that an open task detail reads it again. */
export const taskTouched = signal<{ id: string; n: number }>({ id: '', n: 0 });

/** Every event the page saw of a task, for its detail view (the most recent tasks only). */
export const trails = new Map<string, StreamEvent[]>();

function notice(part: string, message: string | undefined): void {
  const next = { ...notices.value };
  if (message === undefined) delete next[part];
  else next[part] = message;
  notices.value = next;
}

function remember(event: StreamEvent, taskId: string): void {
  let trail = trails.get(taskId);
  if (trail === undefined) {
    trail = [];
    trails.set(taskId, trail);
    if (trails.size > TRAILS) {
      const oldest = trails.keys().next().value as string;
      // Only the trail goes: a task that still waits keeps its place in the queue depths.
      trails.delete(oldest);
    }
  }
  trail.push(event);
  taskTouched.value = { id: taskId, n: taskTouched.value.n + 1 };
}

const BUSY = new Set(['ready', 'working']);
const isBusyFlip = (from: string, to: string) => BUSY.has(from) && BUSY.has(to);

/** Folds one event of the stream into the page's state (but the tail, which {@link applyAll} keeps). */
function apply(event: StreamEvent): void {
  const e = event as StreamEvent & Record<string, unknown>;
  const taskId = typeof e.taskId === 'string' ? e.taskId : undefined;
  const agentId = typeof e.agentId === 'string' ? e.agentId : undefined;
  // A line of the agents' timeline, named after the event's agent.
  const changed = (to: string, detail: string) =>
    stateChange({
      at: event.at,
      agentId: agentId!,
      name: typeof e.name === 'string' ? e.name : (agents.value.get(agentId!)?.name ?? agentId!),
      to,
      detail,
    });
  const kind = e.remote === true ? 'remote' : 'in-process';
  batch(() => {
    if (taskId !== undefined) remember(event, taskId);
    switch (event.topic) {
      case 'task.queued':
        queued(taskId!, String(e.capability), String(e.priority));
        break;
      case 'task.leased': {
        const previous = leased(taskId!, agentId);
        // A task that another agent held when it failed was taken over: a failover.
        if (agentId !== undefined && previous !== undefined && agents.value.get(previous)?.gone) {
          updateAgent(agentId, (row) => ({ ...row, failovers: row.failovers + 1 }));
        }
        break;
      }
      case 'task.completed': {
        forget(taskId!);
        if (agentId === undefined) break;
        const lease = trails.get(taskId!)?.findLast((x) => x.topic === 'task.leased');
        completedBy(agentId, lease === undefined ? undefined : event.at - lease.at);
        break;
      }
      case 'task.failed': {
        if (agentId !== undefined)
          updateAgent(agentId, (row) => ({ ...row, failed: row.failed + 1 }));
        if (e.willRetry === true) retried(taskId!);
        break;
      }
      case 'task.cancelled':
      case 'task.dead':
        forget(taskId!);
        break;
      case 'agent.registered':
        updateAgent(
          agentId!,
          (row) => ({
            ...row,
            name: String(e.name),
            remote: e.remote === true,
            capabilities: (e.capabilities as string[]) ?? row.capabilities,
            state: row.state === 'unknown' ? 'registered' : row.state,
          }),
          String(e.name),
        );
        changed('registered', kind);
        break;
      case 'agent.state':
        updateAgent(agentId!, (row) => ({ ...row, state: String(e.to) }));
        // Between ready and working an agent only takes and finishes work: its load column
        // shows that, and the timeline keeps to its lifecycle.
        if (isBusyFlip(String(e.from), String(e.to))) break;
        changed(String(e.to), `from ${e.from}${e.reason === undefined ? '' : `: ${e.reason}`}`);
        break;
      case 'agent.failed': {
        const reason = String(e.reason);
        updateAgent(agentId!, (row) => ({ ...row, state: 'failed', gone: reason }), String(e.name));
        const action = (e.action as { action?: string } | undefined)?.action;
        changed('failed', `${reason}${action === undefined ? '' : `, ${action}`}: ${e.error}`);
        agentFailed(agentId!);
        break;
      }
      case 'agent.promoted':
        updateAgent(agentId!, (row) => ({ ...row, failovers: row.failovers + 1 }), String(e.name));
        changed('promoted', `replaces ${e.replaces}`);
        break;
      case 'agent.removed':
        updateAgent(
          agentId!,
          (row) => ({
            ...row,
            state: row.state === 'failed' ? 'failed' : 'removed',
            gone: row.gone ?? 'removed',
          }),
          String(e.name),
        );
        changed('removed', kind);
        break;
    }
  });
}

/** Folds events into the page's state at once, so that a burst of them renders once. */
export function applyAll(events: readonly StreamEvent[]): void {
  batch(() => {
    for (const event of events) apply(event);
    tail.value = [...events.slice(-TAIL).reverse(), ...tail.value].slice(0, TAIL);
  });
}

function sample(now: number, s: Stats): void {
  const prev = series.value;
  const push = (list: number[], value: number) => [...list, value].slice(-HISTORY);
  series.value = {
    t: push(prev.t, now / 1000),
    throughput: push(prev.throughput, s.throughputPerSec),
    p50: push(prev.p50, s.latencyMs.p50),
    p99: push(prev.p99, s.latencyMs.p99),
    depth: push(prev.depth, s.queue.depth),
  };
  sampleQueues(POLL_MS, HISTORY);
}

/** Reads the dead letters again (admin only). */
export async function refreshDeadLetters(client: SwitchboardClient): Promise<void> {
  try {
    deadLetters.value = (await client.deadLetters()).tasks;
    notice('dead-letters', undefined);
  } catch (error) {
    notice('dead-letters', describeError(error, 'Reading the dead letters'));
  }
}

/**
 * Follows the server: the event stream, and `/v1/stats` (and the agent list, when the token
 * may read it) every {@link POLL_MS}. Stops when `signal` aborts.
 */
export function follow(client: SwitchboardClient, access: Access, signal: AbortSignal): void {
  const poll = async () => {
    const now = Date.now();
    if (access !== 'agent') {
      try {
        const s = await client.stats();
        batch(() => {
          stats.value = s;
          sample(now, s);
        });
        notice('stats', undefined);
      } catch (error) {
        notice('stats', describeError(error, 'Reading the stats'));
      }
    }
    if (access !== 'client') {
      try {
        mergeAgents((await client.listAgents()).agents);
        notice('agents', undefined);
      } catch (error) {
        notice('agents', describeError(error, 'Listing the agents'));
      }
    }
  };
  const timer = setInterval(() => void poll(), POLL_MS);
  signal.addEventListener('abort', () => clearInterval(timer));
  void poll();
  if (access === 'agent') {
    notice(
      'stats',
      'An agent token may not read the stats nor the tasks: sign in with a client or admin token to see them.',
    );
  }
  if (access === 'admin') void refreshDeadLetters(client);
  if (access !== 'agent') {
    seedQueues(client, signal, (id) => trails.has(id)).then(
      () => notice('queues', undefined),
      (error: unknown) => notice('queues', describeError(error, 'Listing the queued tasks')),
    );
  }

  // Events are folded ten times a second rather than one by one: a busy server sends
  // thousands a second, and the page needs to render them once per batch, not once each.
  let pending: StreamEvent[] = [];
  const flush = () => {
    const events = pending;
    pending = [];
    applyAll(events);
    // A task that died, or a missed stretch of the stream, may change the dead letters.
    const dlq = events.some((e) => e.topic === 'task.dead' || e.topic === 'switchboard.missed');
    if (access === 'admin' && dlq) void refreshDeadLetters(client);
  };
  const stream = async () => {
    // The sign-in proved the token; the stream reconnects by itself and ends only on an error
    // that retrying cannot mend (a scope, a bad request), which replaces this state.
    streamState.value = 'live';
    try {
      for await (const event of client.events({ signal })) {
        if (pending.length === 0) setTimeout(flush, FLUSH_MS);
        pending.push(event);
      }
    } catch (error) {
      if (signal.aborted) return;
      streamState.value =
        statusOf(error) === 403
          ? 'not allowed by this token'
          : describeError(error, 'The event stream');
    }
  };
  void stream();
}
