import { describe, expect, it } from 'vitest';
import { prometheusText } from '../src/metrics.js';

describe('prometheusText', () => {
  it('writes every figure in the text exposition format', () => {
    const text = prometheusText(
      {
        agents: { total: 3, busy: 1, byState: { ready: 2, working: 1 } },
        queue: { depth: 7, byPriority: { critical: 1, high: 0, normal: 6, low: 0 } },
        tasks: { submitted: 10, completed: 2, failed: 1, dead: 0, cancelled: 1 },
        throughputPerSec: 1.5,
        latencyMs: { p50: 3, p99: 12 },
      },
      {
        responses: new Map([
          [200, 5],
          [429, 1],
        ]),
        eventClients: 2,
        eventClientsDropped: 0,
      },
    );
    expect(text).toContain(
      '# TYPE switchboard_tasks_submitted_total counter\nswitchboard_tasks_submitted_total 10\n',
    );
    expect(text).toContain('switchboard_agents_by_state{state="working"} 1\n');
    expect(text).toContain('switchboard_queue_depth_by_priority{priority="normal"} 6\n');
    expect(text).toContain('switchboard_task_latency_milliseconds{quantile="0.99"} 12\n');
    expect(text).toContain('switchboard_http_responses_total{status="429"} 1\n');
    expect(text).toContain('switchboard_event_streams 2\n');
    for (const line of text.trim().split('\n')) {
      expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? -?[\d.e+]+)$/);
    }
  });
});
