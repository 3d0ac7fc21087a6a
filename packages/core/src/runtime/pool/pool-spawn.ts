import { Agent } from '../../agent/agent.js';
import type { AgentDefinition } from '../../agent/definition.js';
import { toError } from '../../errors.js';
import type { Engine } from '../engine.js';
import type { PoolEntry } from './pool-entry.js';
import { PoolMember } from './pool-member.js';

/** The roles spawning uses, so that it can be built and tested with just these. */
export type SpawnRoles = Pick<
  Engine,
  'dispatcher' | 'emit' | 'errorRate' | 'failures' | 'monitor' | 'now' | 'onError'
>;

/**
 * Makes an in-process agent of `definition` for a pool entry (a warm standby with
 * `standby`), hands its member to `register`, tracks its health (a passing health check is
 * its heartbeat) and starts it. An agent whose start throws is failed over as crashed; the
 * member is returned either way.
 */
export async function spawnMember(
  engine: SpawnRoles,
  entry: PoolEntry,
  definition: AgentDefinition,
  standby: boolean,
  register: (member: PoolMember) => void,
): Promise<PoolMember> {
  const agent = new Agent(definition, {
    onListenerError: (e) => engine.onError(e),
    // An agent that breaks outside its tasks (an isolated agent's thread died) fails over.
    onFail: (error, reason) => void engine.failures.fail(member, reason, error),
  });
  const member = new PoolMember({
    id: agent.id,
    name: entry.name,
    role: agent.role,
    version: agent.version,
    capabilities: agent.capabilities,
    maxConcurrency: agent.config.maxConcurrency,
    weight: entry.weight,
    registeredAt: engine.now(),
    agent,
    batchMax: entry.batchMax,
    metrics: () => engine.monitor.metrics(agent.id),
  });
  member.standby = standby;
  agent.lifecycle.onTransition((e) =>
    engine.emit('agent.state', () => ({
      agentId: e.agentId,
      from: e.from,
      to: e.to,
      reason: e.reason,
    })),
  );
  register(member);
  const check = definition.healthCheck;
  engine.monitor.track(agent.id, {
    heartbeatIntervalMs: agent.config.heartbeatIntervalMs,
    heartbeatTimeoutMs: agent.config.heartbeatTimeoutMs,
    ...engine.errorRate,
    healthCheck:
      check === undefined ? () => true : () => agent.checkHealth().then((h) => h.healthy),
  });
  try {
    await agent.start();
  } catch (thrown) {
    await engine.failures.fail(member, 'crashed', toError(thrown));
    return member;
  }
  engine.dispatcher.wake();
  return member;
}
