import type { Stats } from '@switchboard/core';

/** Figures of the HTTP layer itself, beside the engine's stats. */
export interface HttpFigures {
  /** Answers sent, by status code. */
  responses: ReadonlyMap<number, number>;
  /** Open event streams. */
  eventClients: number;
  /** Event clients dropped for reading too slowly. */
  eventClientsDropped: number;
}

type Sample = [labels: Record<string, string>, value: number];

const escapeLabel = (value: string) =>
  value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function family(name: string, type: 'counter' | 'gauge', help: string, samples: Sample[]): string {
  let out = `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
  for (const [labels, value] of samples) {
    const keys = Object.keys(labels);
    const text = keys.map((k) => `${k}="${escapeLabel(labels[k] as string)}"`).join(',');
    out += `${name}${keys.length === 0 ? '' : `{${text}}`} ${Number.isFinite(value) ? value : 0}\n`;
  }
  return out;
}

const one = (value: number): Sample[] => [[{}, value]];
const by = (label: string, counts: Record<string, number>): Sample[] =>
  Object.entries(counts).map(([key, value]) => [{ [label]: key }, value]);

/**
 * The Prometheus text exposition (version 0.0.4) of the engine's stats and the HTTP
 * figures. Names follow Prometheus conventions: `_total` counters, base units in names.
 *
 * @example
 * ```ts
 * new Response(prometheusText(await sb.stats(), figures), {
 *   headers: { 'content-type': PROMETHEUS_CONTENT_TYPE },
 * })
 * ```
 */
export function prometheusText(stats: Stats, http: HttpFigures): string {
  return [
    family('switchboard_agents', 'gauge', 'Agents in the pool', one(stats.agents.total)),
    family(
      'switchboard_agents_busy',
      'gauge',
      'Agents running at least one task',
      one(stats.agents.busy),
    ),
    family(
      'switchboard_agents_by_state',
      'gauge',
      'Agents per state',
      by('state', stats.agents.byState),
    ),
    family('switchboard_queue_depth', 'gauge', 'Tasks queued', one(stats.queue.depth)),
    family(
      'switchboard_queue_depth_by_priority',
      'gauge',
      'Tasks queued per priority',
      by('priority', stats.queue.byPriority),
    ),
    family(
      'switchboard_tasks_submitted_total',
      'counter',
      'Tasks submitted',
      one(stats.tasks.submitted),
    ),
    family(
      'switchboard_tasks_completed_total',
      'counter',
      'Tasks completed',
      one(stats.tasks.completed),
    ),
    family('switchboard_tasks_failed_total', 'counter', 'Failed attempts', one(stats.tasks.failed)),
    family('switchboard_tasks_dead_total', 'counter', 'Tasks dead-lettered', one(stats.tasks.dead)),
    family(
      'switchboard_tasks_cancelled_total',
      'counter',
      'Tasks cancelled',
      one(stats.tasks.cancelled),
    ),
    family(
      'switchboard_throughput_per_second',
      'gauge',
      'Tasks completed per second',
      one(stats.throughputPerSec),
    ),
    family('switchboard_task_latency_milliseconds', 'gauge', 'End-to-end task latency', [
      [{ quantile: '0.5' }, stats.latencyMs.p50],
      [{ quantile: '0.99' }, stats.latencyMs.p99],
    ]),
    ...fairnessFamilies(stats),
    family(
      'switchboard_http_responses_total',
      'counter',
      'HTTP answers by status code',
      [...http.responses].map(([status, n]) => [{ status: String(status) }, n]),
    ),
    family('switchboard_event_streams', 'gauge', 'Open event streams', one(http.eventClients)),
    family(
      'switchboard_event_streams_dropped_total',
      'counter',
      'Event streams dropped for reading too slowly',
      one(http.eventClientsDropped),
    ),
  ].join('');
}

/** The content type of the text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** The top fairness keys' figures, where the backend enforces fairness (none else). */
function fairnessFamilies(stats: Stats): string[] {
  const keys = stats.fairness?.keys;
  if (keys === undefined) return [];
  return [
    family(
      'switchboard_fairness_key_queued',
      'gauge',
      'Tasks queued of the fairness keys with the most queued and leased',
      keys.map((k) => [{ key: k.key }, k.queued]),
    ),
    family(
      'switchboard_fairness_key_leased',
      'gauge',
      'Tasks leased of the fairness keys with the most queued and leased',
      keys.map((k) => [{ key: k.key }, k.leased]),
    ),
  ];
}
