import {
  type AgentDefinition,
  type AgentInitContext,
  type AgentSpec,
  defineAgent,
  resolveAgentConfig,
  SwitchboardError,
} from '@switchboard/core';
import { configError, describe } from '../shared/index.js';
import { ISOLATE, type IsolateOptions, resolveIsolate } from './isolate-options.js';
import { IsolatedInstance } from './isolated-instance.js';

/**
 * An agent that runs in a worker thread or a child process of its own, one per instance:
 * the module at `module` exports the agent as in-process agents are written (`defineAgent`
 * or a plain spec), and the definition returned here stands for it in `createSwitchboard({
 * agents })`, so that the pool, load balancing, leases, health and failover treat it as any
 * other agent.
 *
 * The module is imported here once to read the agent's name, capabilities and config; its
 * init, handler, health check and shutdown run only in the child. Keep start-up work in
 * `init`. Payloads, results and task metadata are structured-cloned across the channel.
 *
 * A child that throws at top level, exits, is killed or runs out of memory fails its agent
 * at once (`agent.failed`, reason `crashed`); one whose heartbeats stop is killed and fails
 * it as `hung`. Its tasks go back to the queue with their attempt counted, and the
 * Switchboard's recovery strategy restarts the agent with backoff until its restart
 * intensity is spent.
 *
 * @throws SwitchboardError `invalid_config` naming a bad or unknown option, or a module that
 * exports no valid agent.
 * @example
 * ```ts
 * import { isolate } from '@switchboard/plugins/isolate'
 * const browser = await isolate(new URL('./browser-agent.js', import.meta.url), {
 *   runIn: 'process',
 *   maxTasks: 200,
 *   maxRssMb: 800,
 * })
 * const sb = createSwitchboard({ agents: [{ definition: browser, min: 3 }] })
 * ```
 */
export async function isolate<I = unknown, O = unknown>(
  module: URL | string,
  options: IsolateOptions,
): Promise<AgentDefinition<I, O>> {
  const resolved = resolveIsolate(module, options);
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(resolved.module)) as Record<string, unknown>;
  } catch (thrown) {
    throw new SwitchboardError(
      'invalid_config',
      `[switchboard] [${ISOLATE}] cannot import ${resolved.module}: ${(thrown as Error).message}`,
      { cause: thrown, details: { field: 'module' } },
    );
  }
  const exported = loaded[resolved.exportName];
  if (exported === undefined) {
    const known = Object.keys(loaded).join(', ') || 'none';
    throw configError(
      ISOLATE,
      `${resolved.module} has no export "${resolved.exportName}" (its exports: ${known})`,
      { field: 'export' },
    );
  }
  if (exported === null || typeof exported !== 'object') {
    throw configError(
      ISOLATE,
      `the export "${resolved.exportName}" is ${describe(exported)}, not an agent`,
    );
  }
  const inner = defineAgent(exported as AgentSpec<I, O>);
  const config = resolveAgentConfig(resolved.config, inner.config);
  const instances = new Map<string, IsolatedInstance>();
  const instance = (agentId: string): IsolatedInstance => {
    const found = instances.get(agentId);
    if (found !== undefined) return found;
    throw new SwitchboardError('unavailable', `isolated agent ${agentId} is not started`, {
      details: { agentId },
    });
  };
  return defineAgent<I, O>({
    name: inner.name,
    role: inner.role,
    version: inner.version,
    capabilities: inner.capabilities,
    config,
    async init(ctx: AgentInitContext) {
      const started = new IsolatedInstance(resolved, ctx);
      instances.set(ctx.agentId, started);
      try {
        await started.start();
      } catch (thrown) {
        instances.delete(ctx.agentId);
        throw thrown;
      }
    },
    handle: (payload, ctx) => instance(ctx.agentId).run(payload, ctx) as Promise<O>,
    async shutdown({ agentId }) {
      const stopping = instances.get(agentId);
      instances.delete(agentId);
      await stopping?.stop();
    },
    // A payload or metadata that cannot be copied to the child is refused at submit, where
    // the caller still holds it, rather than failing its task once dispatched.
    checkTask(task) {
      for (const field of ['payload', 'metadata'] as const) {
        try {
          structuredClone(task[field]);
        } catch (thrown) {
          const why = thrown instanceof Error ? thrown.message : String(thrown);
          const message = `cannot be copied to the ${resolved.runIn} of isolated agent "${inner.name}": ${why}`;
          throw new SwitchboardError('invalid_request', `${field}: ${message}`, {
            details: [{ path: field, message }],
          });
        }
      }
      inner.checkTask?.(task);
    },
    // Asked only when the agent has a health check of its own, which runs in the child.
    ...(inner.healthCheck === undefined
      ? {}
      : { healthCheck: ({ agentId }) => instance(agentId).health() }),
  });
}
