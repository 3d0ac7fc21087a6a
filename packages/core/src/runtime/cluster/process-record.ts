import type { AgentDirectory, AgentRecord } from '../../contracts/agent-directory.js';
import { SwitchboardError } from '../../errors.js';
import type { TaskError } from '../../model/task.js';
import type { Engine } from '../engine.js';
import type { Link } from '../roles.js';
import type { BackgroundRoles } from './background-error.js';
import { backgroundError } from './background-error.js';

/** The roles the process record uses, so that it can be built and tested with just these. */
export type ProcessRecordRoles = Pick<
  Engine,
  'dispatcher' | 'heartbeatIntervalMs' | 'heartbeatTimeoutMs' | 'now'
> &
  BackgroundRoles;

/** True for the liveness record of a Switchboard process, not of an agent. */
export function isProcessRecord(record: AgentRecord): boolean {
  return record.kind === 'process';
}

/** The error a lease of a process taken for dead ends with (its attempt counts). */
export function processLost(record: AgentRecord): TaskError {
  return {
    message:
      'lease lost: the process stopped while the task ran ' +
      `(process ${record.id}: no heartbeat for ${record.heartbeatTimeoutMs} ms)`,
    code: 'expired',
    retryable: true,
  };
}

/**
 * This process's own liveness record in the agent directory of a backend several processes
 * share, under the holder id its dispatcher leases with. It is written at start and touched
 * every heartbeat interval, as a remote agent's heartbeat is; when the process dies, its
 * record falls silent and another process claims it at its heartbeat timeout and puts back
 * every lease the backend lists under that id (see DirectoryWatch): the leases of its
 * in-process handlers come back then, not when each expires. A graceful stop removes it,
 * once its leases were handed back, so that nothing waits for it.
 */
export class ProcessRecord {
  /** The holder id: the record's id, and the agent id of the leases this process takes. */
  readonly id: string;
  readonly #engine: ProcessRecordRoles;
  readonly #directory: AgentDirectory;
  readonly #link: Link;
  /** Whether a put succeeded: a touch that finds no record then means it was claimed. */
  #written = false;

  constructor(engine: ProcessRecordRoles, directory: AgentDirectory, link: Link) {
    this.#engine = engine;
    this.#directory = directory;
    this.#link = link;
    this.id = engine.dispatcher.holderId;
  }

  /** Writes the record and tells the other processes. */
  async put(): Promise<void> {
    const record = this.#record();
    await this.#directory.put(record);
    this.#written = true;
    this.#link.agent({ op: 'put', id: record.id, record });
  }

  /**
   * A heartbeat. When the directory no longer knows the record, another process took this
   * one for dead (it was stalled or cut off for a whole heartbeat timeout) and put back its
   * leases: that is reported, and the record is written again, since the process lives.
   */
  beat(): void {
    const engine = this.#engine;
    this.#directory
      .touch(this.id, this.#link.origin, engine.now())
      .then((record) => {
        if (record !== undefined) {
          this.#link.agent({ op: 'touch', id: record.id, record });
          return;
        }
        if (this.#written) {
          const message =
            `this process (${this.id}) was taken for dead by another, after no heartbeat for ` +
            `${engine.heartbeatTimeoutMs} ms: the leases it held went back to the queue`;
          backgroundError(engine, new SwitchboardError('unavailable', message));
        }
        return this.put();
      })
      .catch((error: unknown) => backgroundError(engine, error));
  }

  /** Removes the record (a graceful stop); a failure only leaves it to be claimed later. */
  async remove(): Promise<void> {
    if (!this.#written) return;
    this.#written = false;
    try {
      await this.#directory.remove(this.id);
      this.#link.agent({ op: 'remove', id: this.id });
    } catch (error) {
      backgroundError(this.#engine, error);
    }
  }

  #record(): AgentRecord {
    const engine = this.#engine;
    const now = engine.now();
    return {
      id: this.id,
      name: this.id,
      role: 'worker',
      version: '1',
      capabilities: [],
      maxConcurrency: 0,
      metadata: {},
      state: 'ready',
      registeredAt: now,
      lastHeartbeatAt: now,
      heartbeatIntervalMs: engine.heartbeatIntervalMs,
      heartbeatTimeoutMs: engine.heartbeatTimeoutMs,
      owner: this.#link.origin,
      kind: 'process',
    };
  }
}
