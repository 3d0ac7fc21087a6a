import { SwitchboardError } from '@switchboard/core';
import type { Redis } from 'ioredis';
import { type ClientRole, createClient, shutdown, whenReady } from './redis-client.js';
import type { ResolvedRedisOptions } from './redis-options.js';

/**
 * The two connections of a Redis backend and what rides on them: the command connection
 * (scripts defined by `prepare`, and what is published), the subscriber that hears the
 * `available` and `cluster` channels and calls their listeners, and the optional lease
 * sweep. Exactly two connections, opened once.
 */
export class RedisLink {
  private command: Redis | undefined;
  private subscriber: Redis | undefined;
  private opening: Promise<void> | undefined;
  private subscribed = false;
  private closed = false;
  private readonly listeners = new Set<(capability: string) => void>();
  private readonly clusterListeners = new Set<(message: string) => void>();
  private readonly seenReady = new Set<ClientRole>();
  private sweep: { ms: number; run: () => Promise<unknown> } | undefined;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  /** When the connection to the server was lost (since the last time both were ready). */
  private lostAt: number | undefined;
  private readonly channel: string;
  private readonly clusterChannel: string;

  constructor(
    private readonly o: ResolvedRedisOptions,
    private readonly prepare: (client: Redis) => void,
  ) {
    this.channel = `${o.keyPrefix}available`;
    this.clusterChannel = `${o.keyPrefix}cluster`;
  }

  /** Connects both connections and subscribes. Idempotent; a failed open may be retried. */
  open(): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    this.opening ??= this.connect().catch((err: unknown) => {
      this.opening = undefined;
      throw err;
    });
    return this.opening;
  }

  /** The command connection, once open. It rejects commands at once while disconnected. */
  async client(): Promise<Redis> {
    if (this.closed) throw closedError();
    await this.open();
    return this.command as Redis;
  }

  /** Adds an `onAvailable` listener; returns its removal. */
  listen(listener: (capability: string) => void): () => void {
    if (this.closed) throw closedError();
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Adds a listener of the `cluster` channel's messages; returns its removal. */
  listenCluster(listener: (message: string) => void): () => void {
    if (this.closed) throw closedError();
    this.clusterListeners.add(listener);
    return () => {
      this.clusterListeners.delete(listener);
    };
  }

  /**
   * Publishes on the `cluster` channel, best effort: while the server is unreachable (or
   * before `open`) the message is dropped, as pub/sub would drop it for a subscriber that is
   * cut off anyway.
   */
  publishCluster(message: string): void {
    const command = this.command;
    if (command === undefined || command.status !== 'ready' || this.closed) return;
    command.publish(this.clusterChannel, message).catch(() => {
      // Dropped: see above.
    });
  }

  /** Runs `run` every `ms` once open (a sweep never overlaps the previous one). */
  sweepEvery(ms: number, run: () => Promise<unknown>): void {
    this.sweep = { ms, run };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.listeners.clear();
    this.clusterListeners.clear();
    const clients = [this.command, this.subscriber].filter((c) => c !== undefined);
    await Promise.all(clients.map(shutdown));
  }

  private async connect(): Promise<void> {
    this.command ??= this.make('command');
    this.subscriber ??= this.make('subscriber');
    const subscriber = this.subscriber;
    await Promise.all([
      whenReady(this.command, this.o.connectTimeoutMs, this.o.address),
      whenReady(subscriber, this.o.connectTimeoutMs, this.o.address),
    ]);
    if (!this.subscribed) {
      await subscriber.subscribe(this.channel, this.clusterChannel);
      this.subscribed = true;
    }
    if (this.sweep !== undefined && this.sweeper === undefined && !this.closed) {
      const { ms, run } = this.sweep;
      let running = false;
      this.sweeper = setInterval(() => {
        if (running) return;
        running = true;
        run()
          .catch(() => {
            // An outage fails every sweep; the first one after the reconnection catches up.
          })
          .finally(() => {
            running = false;
          });
      }, ms);
      // A sweep alone must not keep a process alive.
      (this.sweeper as { unref?: () => void }).unref?.();
    }
  }

  private make(role: ClientRole): Redis {
    const client = createClient(this.o, role);
    // Without a listener ioredis prints every connection error; the methods answer
    // `unavailable` meanwhile, and the owner may want to log them.
    client.on('error', (err: Error) => {
      this.o.onError?.(err);
      this.lost(role, err.message);
    });
    client.on('close', () => this.lost(role, 'connection closed'));
    client.on('ready', () => {
      const again = this.seenReady.has(role);
      this.seenReady.add(role);
      if (again && role === 'subscriber') this.resubscribe(client);
      else if (again) this.rewake();
      this.back();
    });
    if (role === 'command') this.prepare(client);
    else {
      client.on('message', (channel: string, message: string) => {
        if (channel === this.channel) this.notify(message);
        else if (channel === this.clusterChannel) this.notifyCluster(message);
      });
    }
    return client;
  }

  /**
   * Logs the loss of a connection that had been up, once per outage: ioredis reports every
   * failed reconnection, which would be one line per attempt.
   */
  private lost(role: ClientRole, why: string): void {
    if (this.closed || this.lostAt !== undefined || !this.seenReady.has(role)) return;
    this.lostAt = Date.now();
    this.o.logger.warn(
      `redis ${this.o.address} unavailable (${why}); reconnecting, and answering unavailable meanwhile`,
      { event: 'backend.unavailable', backend: 'redis', url: this.o.address, error: why },
    );
  }

  /** Logs the end of an outage once both connections are ready again. */
  private back(): void {
    const since = this.lostAt;
    if (since === undefined || this.closed) return;
    if (this.command?.status !== 'ready' || this.subscriber?.status !== 'ready') return;
    this.lostAt = undefined;
    const downMs = Date.now() - since;
    this.o.logger.info(`redis ${this.o.address} back after ${downMs} ms`, {
      event: 'backend.back',
      backend: 'redis',
      url: this.o.address,
      downMs,
    });
  }

  /**
   * After a reconnection: notifications published while this process was cut off are gone,
   * so every capability that has tasks is announced once.
   */
  /**
   * Subscribes again after a reconnection of the subscriber, then tells the listeners what
   * waits: a message published before the subscription took effect was missed, and the
   * catch-up comes after it so that nothing falls between the two. A failure means the
   * connection dropped again, and its next 'ready' tries once more.
   */
  private resubscribe(client: Redis): void {
    if (!this.subscribed || this.closed) return;
    client.subscribe(this.channel, this.clusterChannel).then(
      () => this.rewake(),
      (err: unknown) => this.o.onError?.(err as Error),
    );
  }

  private rewake(): void {
    const command = this.command;
    if (command === undefined || command.status !== 'ready' || this.closed) return;
    command.smembers(`${this.o.keyPrefix}caps`).then(
      (caps) => {
        for (const cap of caps) this.notify(cap);
      },
      () => {
        // Still down: the other connection's reconnection will announce them.
      },
    );
  }

  private notifyCluster(message: string): void {
    for (const listener of this.clusterListeners) {
      try {
        listener(message);
      } catch {
        // A listener that throws must not keep the others from the message.
      }
    }
  }

  private notify(capability: string): void {
    for (const listener of this.listeners) {
      try {
        listener(capability);
      } catch {
        // The transition is committed; a failing listener must not keep the others from it.
      }
    }
  }
}

function closedError(): SwitchboardError {
  return new SwitchboardError('unavailable', '[redis] backend is closed');
}
