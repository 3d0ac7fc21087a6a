import type { AgentRecord } from '../../contracts/agent-directory.js';
import type { Engine } from '../engine.js';
import type { PoolMember } from '../pool/pool-member.js';
import type { AgentView } from '../remote/remote-types.js';

// A remote agent's registration as the shared agent directory stores it, made from a local
// member, and read back as the API's view of an agent another process hears.

/** The directory record of the remote `member`, heard last by the process `owner`. */
export function agentRecord(
  engine: Pick<Engine, 'heartbeatIntervalMs' | 'heartbeatTimeoutMs'>,
  member: PoolMember,
  owner: string,
): AgentRecord {
  return {
    id: member.id,
    name: member.name,
    role: member.role,
    version: member.version,
    capabilities: member.capabilities.map((c) => ({ ...c })),
    maxConcurrency: member.baseConcurrency,
    metadata: member.metadata,
    state: member.state,
    registeredAt: member.registeredAt,
    lastHeartbeatAt: member.lastHeartbeatAt,
    heartbeatIntervalMs: engine.heartbeatIntervalMs,
    heartbeatTimeoutMs: engine.heartbeatTimeoutMs,
    owner,
  };
}

/** The view of an agent known here only through its directory record. */
export function agentView(record: AgentRecord): AgentView {
  return {
    id: record.id,
    name: record.name,
    role: record.role,
    state: record.state,
    capabilities: record.capabilities.map((c) => ({ ...c })),
    maxConcurrency: record.maxConcurrency,
    // Held by the process it works through; not known here.
    activeTasks: 0,
    heartbeatIntervalMs: record.heartbeatIntervalMs,
    heartbeatTimeoutMs: record.heartbeatTimeoutMs,
    registeredAt: record.registeredAt,
    lastHeartbeatAt: record.lastHeartbeatAt,
    remote: true,
    version: record.version,
    metadata: record.metadata,
  };
}
