import type {
  AgentNotice,
  ClusterChannel,
  ClusterMessage,
  LeaseNotice,
} from '../../contracts/cluster-channel.js';
import type { Engine } from '../engine.js';
import type { ClusterDirectory, Link } from '../roles.js';
import { isTerminal, type TaskTracker } from '../submit/task-tracker.js';
import type { BackgroundRoles } from './background-error.js';
import { backgroundError } from './background-error.js';
import type { ClusterBusSink, ClusterEventBus } from './cluster-event-bus.js';

/** The roles the cluster link uses, so that it can be built and tested with just these. */
export type ClusterLinkRoles = Pick<
  Engine,
  'backend' | 'book' | 'dispatcher' | 'heartbeatIntervalMs' | 'now'
> &
  BackgroundRoles;

/** A peer's interest is forgotten after this many announce periods without a word from it. */
const PEER_TTL_PERIODS = 3;

/**
 * This process's end of the cluster channel of a backend shared by several processes. What
 * it sends is gathered per tick into one message (events for peers that listen, ended task
 * ids, lease and agent notices, its own interest); what it receives from the others is
 * applied here: events go to local subscribers only, an ended task wakes its local waiters,
 * a lease answered elsewhere is let go here, agent notices go to {@link ClusterAgents}.
 * Nothing received changes task state: the backend stays the authority for that.
 */
export class ClusterLink implements ClusterBusSink, Link {
  /** This process's id on the channel; its own messages come back and are skipped by it. */
  readonly origin = crypto.randomUUID();
  agents: ClusterDirectory | undefined;
  readonly #engine: ClusterLinkRoles;
  readonly #channel: ClusterChannel;
  readonly #bus: ClusterEventBus;
  readonly #tracker: TaskTracker;
  readonly #announceMs: number;
  readonly #peers = new Map<string, { patterns: string[]; expiresAt: number }>();
  #out: ClusterMessage | undefined;
  #off: (() => void) | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #leaving = false;

  constructor(
    engine: ClusterLinkRoles,
    channel: ClusterChannel,
    bus: ClusterEventBus,
    tracker: TaskTracker,
  ) {
    this.#engine = engine;
    this.#channel = channel;
    this.#bus = bus;
    this.#tracker = tracker;
    this.#announceMs = engine.heartbeatIntervalMs;
  }

  /** Joins: listens, asks the others for their interest, and announces its own periodically. */
  start(): void {
    if (this.#off !== undefined) return;
    this.#off = this.#channel.subscribe((message) => this.receive(message));
    this.#bus.attach(this);
    this.#message().hello = true;
    this.interestChanged();
    this.#timer = setInterval(() => {
      this.#prune();
      this.interestChanged();
    }, this.#announceMs);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Leaves: tells the others it listens to nothing any more, and stops listening. */
  stop(): void {
    if (this.#off === undefined) return;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#bus.attach(undefined);
    this.#leaving = true;
    this.#message().interest = [];
    this.#flush();
    this.#off();
    this.#off = undefined;
  }

  forward(topic: string, data: Record<string, unknown>): void {
    const message = this.#message();
    message.events ??= [];
    message.events.push({ topic, data });
  }

  ended(taskId: string): void {
    const message = this.#message();
    message.ended ??= [];
    message.ended.push(taskId);
  }

  interestChanged(): void {
    // Read at flush time: several changes in one tick make one announcement.
    this.#message().interest = [];
  }

  /** A lease answered here that another process may hold. */
  lease(notice: LeaseNotice): void {
    const message = this.#message();
    message.leases ??= [];
    message.leases.push(notice);
  }

  /** A change of the agent directory made here. */
  agent(notice: AgentNotice): void {
    const message = this.#message();
    message.agents ??= [];
    message.agents.push(notice);
  }

  /** Applies a message of another process. */
  receive(message: ClusterMessage): void {
    if (message === null || typeof message !== 'object' || message.origin === this.origin) return;
    const engine = this.#engine;
    const origin = message.origin;
    if (Array.isArray(message.interest)) {
      const patterns = message.interest.filter((p): p is string => typeof p === 'string');
      if (patterns.length === 0) this.#peers.delete(origin);
      else {
        const expiresAt = engine.now() + PEER_TTL_PERIODS * this.#announceMs;
        this.#peers.set(origin, { patterns, expiresAt });
      }
      this.#bus.setPeerPatterns(this.#peerPatterns());
    }
    if (message.hello === true) this.interestChanged();
    for (const event of message.events ?? []) {
      try {
        this.#bus.deliverRemote(event.topic, { ...event.data, origin });
      } catch (error) {
        backgroundError(engine, error);
      }
    }
    for (const id of message.ended ?? []) {
      if (this.#tracker.awaits(id)) this.#wake(id);
    }
    for (const notice of message.leases ?? []) this.#settled(notice);
    if (message.agents !== undefined) this.agents?.receive(message.agents);
  }

  /** The other processes currently known by their interest. */
  get peers(): number {
    return this.#peers.size;
  }

  #wake(id: string): void {
    const engine = this.#engine;
    engine.backend.get(id).then(
      (record) => {
        if (record !== undefined && isTerminal(record.status)) this.#tracker.ended(record);
      },
      (error: unknown) => backgroundError(engine, error),
    );
  }

  /** A lease this process handed out was completed, failed or extended through another. */
  #settled(notice: LeaseNotice): void {
    const engine = this.#engine;
    const entry = engine.book.inflight.get(notice.id);
    if (entry === undefined || entry.token !== notice.token) return;
    if (typeof notice.expiresAt === 'number') {
      entry.expiresAt = Math.max(entry.expiresAt, notice.expiresAt);
      return;
    }
    engine.book.detach(entry);
    if (entry.member !== undefined) engine.dispatcher.freed(entry.member);
  }

  #peerPatterns(): string[] {
    const all: string[] = [];
    for (const peer of this.#peers.values()) all.push(...peer.patterns);
    return all;
  }

  #prune(): void {
    const now = this.#engine.now();
    let changed = false;
    for (const [origin, peer] of this.#peers) {
      if (peer.expiresAt <= now) {
        this.#peers.delete(origin);
        changed = true;
      }
    }
    if (changed) this.#bus.setPeerPatterns(this.#peerPatterns());
  }

  #message(): ClusterMessage {
    if (this.#out === undefined) {
      this.#out = { origin: this.origin };
      queueMicrotask(() => this.#flush());
    }
    return this.#out;
  }

  #flush(): void {
    const message = this.#out;
    if (message === undefined) return;
    this.#out = undefined;
    if (message.interest !== undefined && !this.#leaving) {
      message.interest = this.#bus.patterns();
    }
    try {
      this.#channel.publish(message);
    } catch (error) {
      // Best effort: a lost message costs latency (waiters still time out, views refresh).
      backgroundError(this.#engine, error);
    }
  }
}
