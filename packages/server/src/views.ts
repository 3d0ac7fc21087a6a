import type { AgentView, AgentViewBody, TaskLease, TaskRecord, TaskView } from '@switchboard/core';

/**
 * The task as `GET /v1/tasks/{id}` shows it. Fields are picked one by one: the stored
 * record also holds the lease token, which only the agent holding the lease may know.
 */
export function toTaskView(task: TaskRecord): TaskView {
  const view: TaskView = {
    id: task.id,
    capability: task.capability,
    status: task.status,
    priority: task.priority,
    attempts: task.attempts,
    maxAttempts: task.maxAttempts,
    createdAt: task.createdAt,
    updatedAt: task.updatedAt,
  };
  if (task.agentId !== undefined) view.agentId = task.agentId;
  if (task.result !== undefined) view.result = task.result;
  if (task.error !== undefined) {
    const error: NonNullable<TaskView['error']> = { message: task.error.message };
    if (task.error.code !== undefined) error.code = task.error.code;
    if (task.error.retryable !== undefined) error.retryable = task.error.retryable;
    view.error = error;
  }
  if (task.idempotencyKey !== undefined) view.idempotencyKey = task.idempotencyKey;
  if (task.sessionKey !== undefined) view.sessionKey = task.sessionKey;
  if (task.fairnessKey !== undefined) view.fairnessKey = task.fairnessKey;
  if (task.progress !== undefined)
    view.progress = { value: task.progress.value, at: task.progress.at };
  if (task.traceparent !== undefined) {
    view.traceparent = task.traceparent;
    if (task.tracestate !== undefined) view.tracestate = task.tracestate;
  }
  return view;
}

/** The task-lease of `extend`, whether the engine answered with a lease or a record. */
export function toLeaseView(value: TaskLease | TaskRecord): TaskLease {
  const isLease = 'attempt' in value;
  const lease: TaskLease = {
    id: value.id,
    capability: value.capability,
    payload: value.payload,
    priority: value.priority,
    attempt: isLease ? value.attempt : value.attempts,
    leaseToken: value.leaseToken ?? '',
    leaseExpiresAt: value.leaseExpiresAt ?? 0,
  };
  if (value.sessionKey !== undefined) lease.sessionKey = value.sessionKey;
  if (value.traceparent !== undefined) {
    lease.traceparent = value.traceparent;
    if (value.tracestate !== undefined) lease.tracestate = value.tracestate;
  }
  return lease;
}

/** The agent of docs/http.md: the contract's fields only (the engine's view holds a few more). */
export function toAgentView(agent: AgentView | AgentViewBody): AgentViewBody {
  return {
    id: agent.id,
    name: agent.name,
    role: agent.role,
    state: agent.state,
    capabilities: agent.capabilities,
    maxConcurrency: agent.maxConcurrency,
    activeTasks: agent.activeTasks,
    heartbeatIntervalMs: agent.heartbeatIntervalMs,
    heartbeatTimeoutMs: agent.heartbeatTimeoutMs,
    registeredAt: agent.registeredAt,
    lastHeartbeatAt: agent.lastHeartbeatAt,
    remote: agent.remote,
  };
}
