import { batch, signal } from '@preact/signals';
import type { StreamEvent, SwitchboardClient } from '@switchboard/client';
import type { AgentView, Stats, TaskView } from '@switchboard/core';
import { type Access, describeError, statusOf } from './api.js';

/** How often `/v1/stats` (and the agent list) are read, and so the plots' resolution. */
export const POLL_MS = 2_000;
/** How much history the plots keep: ten minutes. */
const HISTORY = 300;
const TAIL = 500;
const TIMELINE = 200;
const TRAILS = 2_000;
const LATENCIES = 100;

/** An agent as the page knows it: the API's view (when the token may list agents) and what the events told. */
export interface AgentRow {
  id: string;
  name: string;
  state: string;
  capabilities: string[];
  remote?: boolean;
  view?: AgentView;
  completed: number;
  failed: number;
  /** Lease-to-completion times of its recent tasks, ms. */
  latencies: number[];
  /** Standby promotions into a failed agent's place, and tasks it took over from a failed agent. */
  failovers: number;
  /** Why it left the pool, when it did. */
  gone?: string;
}

/** One change of an agent's state, for the timeline. */
export interface StateChange {
  at: number;
  agentId: string;
  name: string;
  to: string;
  detail: string;
}

/** A queue: one capability at one priority, as the events tell it. */
export interface QueueRow {
  capability: string;
  priority: string;
  depth: number;
  /** Tasks in and out per second over the last poll. */
  inRate: number;
  outRate: number;
  history: number[];
  inCount: number;
  outCount: number;
}

/** The plots' series, one point per poll. */
export interface Series {
  t: number[];
  throughput: number[];
  p50: number[];
  p99: number[];
  depth: number[];
}

export const agents = signal<ReadonlyMap<string, AgentRow>>(new Map());
export const timeline = signal<readonly StateChange[]>([]);
export const queues = signal<ReadonlyMap<string, QueueRow>>(new Map());
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

/** Where each task the page saw queued or leased is, to keep the queue depths. */
const tracked = new Map<string, { key: string; queued: boolean; agentId?: string }>();

function notice(part: string, message: string | undefined): void {
  const next = { ...notices.value };
  if (message === undefined) delete next[part];
  else next[part] = message;
  notices.value = next;
}

function updateAgent(id: string, change: (row: AgentRow) => AgentRow, name = id): void {
  const next = new Map(agents.value);
  const row = next.get(id) ?? {
    id,
    name,
    state: 'unknown',
    capabilities: [],
    completed: 0,
    failed: 0,
    latencies: [],
    failovers: 0,
  };
  next.set(id, change(row));
  agents.value = next;
}

function stateChange(change: StateChange): void {
  timeline.value = [change, ...timeline.value].slice(0, TIMELINE);
}

function moveQueue(key: string, depth: number, inCount = 0, outCount = 0): void {
  const next = new Map(queues.value);
  const [capability = '', priority = ''] = key.split('|');
  const row = next.get(key) ?? {
    capability,
    priority,
    depth: 0,
    inRate: 0,
    outRate: 0,
    history: [],
    inCount: 0,
    outCount: 0,
  };
  next.set(key, {
    ...row,
    depth: Math.max(0, row.depth + depth),
    inCount: row.inCount + inCount,
    outCount: row.outCount + outCount,
  });
  queues.value = next;
}

function leaveQueue(taskId: string): void {
  const task = tracked.get(taskId);
  if (task?.queued) {
    task.queued = false;
    moveQueue(task.key, -1, 0, 1);
  }
}

function remember(event: StreamEvent, taskId: string): void {
  let trail = trails.get(taskId);
  if (trail === undefined) {
    trail = [];
    trails.set(taskId, trail);
    if (trails.size > TRAILS) {
      const oldest = trails.keys().next().value as string;
      trails.delete(oldest);
      tracked.delete(oldest);
    }
  }
  trail.push(event);
  taskTouched.value = { id: taskId, n: taskTouched.value.n + 1 };
}

const BUSY = new Set(['ready', 'working']);
const isBusyFlip = (from: string, to: string) => BUSY.has(from) && BUSY.has(to);

/** Folds one event of the stream into the page's state. */
export function apply(event: StreamEvent): void {
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
    tail.value = [event, ...tail.value].slice(0, TAIL);
    if (taskId !== undefined) remember(event, taskId);
    switch (event.topic) {
      case 'task.queued': {
        const key = `${e.capability}|${e.priority}`;
        leaveQueue(taskId!);
        tracked.set(taskId!, { key, queued: true });
        moveQueue(key, 1, 1, 0);
        break;
      }
      case 'task.leased': {
        leaveQueue(taskId!);
        const task = tracked.get(taskId!);
        const previous = task?.agentId;
        if (task !== undefined && agentId !== undefined) task.agentId = agentId;
        // A task that another agent held when it failed was taken over: a failover.
        const tookOver = previous !== undefined && previous !== agentId;
        if (agentId !== undefined && tookOver && agents.value.get(previous)?.gone !== undefined) {
          updateAgent(agentId, (row) => ({ ...row, failovers: row.failovers + 1 }));
        }
        break;
      }
      case 'task.completed': {
        if (agentId === undefined) break;
        const leased = trails.get(taskId!)?.findLast((x) => x.topic === 'task.leased');
        const latency = leased === undefined ? undefined : event.at - leased.at;
        updateAgent(agentId, (row) => ({
          ...row,
          completed: row.completed + 1,
          latencies:
            latency === undefined ? row.latencies : [...row.latencies, latency].slice(-LATENCIES),
        }));
        break;
      }
      case 'task.failed': {
        if (agentId !== undefined)
          updateAgent(agentId, (row) => ({ ...row, failed: row.failed + 1 }));
        const task = tracked.get(taskId!);
        if (e.willRetry === true && task !== undefined && !task.queued) {
          task.queued = true;
          moveQueue(task.key, 1, 1, 0);
        }
        break;
      }
      case 'task.cancelled':
      case 'task.dead':
        leaveQueue(taskId!);
        tracked.delete(taskId!);
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
        // Its leases went back to the queue before this event.
        for (const task of tracked.values()) {
          if (task.agentId === agentId && !task.queued) {
            task.queued = true;
            moveQueue(task.key, 1, 1, 0);
          }
        }
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

function mergeAgents(list: readonly AgentView[]): void {
  const next = new Map(agents.value);
  const seen = new Set<string>();
  for (const view of list) {
    seen.add(view.id);
    const row = next.get(view.id);
    next.set(view.id, {
      ...(row ?? { completed: 0, failed: 0, latencies: [], failovers: 0 }),
      id: view.id,
      name: view.name,
      state: view.state,
      capabilities: view.capabilities.map((c) => (typeof c === 'string' ? c : c.name)),
      remote: view.remote,
      view,
    } as AgentRow);
  }
  // An agent the list no longer has left the pool, whether or not the stream said so.
  for (const [id, row] of next) {
    if (!seen.has(id) && row.view !== undefined && row.gone === undefined) {
      next.set(id, { ...row, state: 'removed', gone: 'removed' });
    }
  }
  agents.value = next;
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
  const next = new Map<string, QueueRow>();
  for (const [key, row] of queues.value) {
    next.set(key, {
      ...row,
      inRate: (row.inCount * 1000) / POLL_MS,
      outRate: (row.outCount * 1000) / POLL_MS,
      inCount: 0,
      outCount: 0,
      history: [...row.history, row.depth].slice(-HISTORY),
    });
  }
  queues.value = next;
}

/** The most queued tasks read at sign-in to start the queue depths from. */
const SEED_TASKS = 5_000;

/**
 * Starts the depths by capability and priority from the tasks queued when the page opens
 * (the newest {@link SEED_TASKS}); the event stream moves them from then on. A task the
 * stream has already told of is left to the stream.
 */
async function seedQueues(client: SwitchboardClient, signal: AbortSignal): Promise<void> {
  let cursor: string | undefined;
  let read = 0;
  try {
    do {
      const page = await client.listTasks({
        status: 'queued',
        limit: 1000,
        ...(cursor === undefined ? {} : { cursor }),
      });
      if (signal.aborted) return;
      batch(() => {
        for (const task of page.tasks) {
          if (tracked.has(task.id) || trails.has(task.id)) continue;
          const key = `${task.capability}|${task.priority}`;
          tracked.set(task.id, { key, queued: true });
          moveQueue(key, 1);
        }
      });
      read += page.tasks.length;
      cursor = page.nextCursor;
    } while (cursor !== undefined && read < SEED_TASKS);
    notice('queues', undefined);
  } catch (error) {
    notice('queues', describeError(error, 'Listing the queued tasks'));
  }
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
  if (access === 'admin') void refreshDeadLetters(client);
  if (access !== 'agent') void seedQueues(client, signal);

  const stream = async () => {
    // The sign-in proved the token; the stream reconnects by itself and ends only on an error
    // that retrying cannot mend (a scope, a bad request), which replaces this state.
    streamState.value = 'live';
    try {
      for await (const event of client.events({ signal })) {
        apply(event);
        // A task that died, or a missed stretch of the stream, may change the dead letters.
        if (
          access === 'admin' &&
          (event.topic === 'task.dead' || event.topic === 'switchboard.missed')
        ) {
          void refreshDeadLetters(client);
        }
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
