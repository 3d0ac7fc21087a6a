import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execPath } from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Worker } from '@switchboard/client';
import { afterAll, describe, expect, it } from 'vitest';
import { bundle, type ServerProcess, spawnServer } from '../e2e/servers.js';
import { call, settled, until, worker } from './trace-harness.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const setup = fileURLToPath(new URL('./fixtures/otel-setup.mjs', import.meta.url));
const otel = join(root, 'packages/plugins/dist/otel/index.js');

interface Line {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Record<string, unknown>;
}

// `switchboard serve` traced the way docs/tracing.md says: an SDK registered with
// `node --import`, and `otelTelemetry()` from an ES module config file.
describe('switchboard serve with tracing (the built bundle)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-trace-serve-'));
  let server: ServerProcess | undefined;
  let w: Worker | undefined;
  afterAll(async () => {
    await w?.close({ drain: false });
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exports one trace per task, continuing the traceparent header', async () => {
    expect(existsSync(otel), `${otel} is missing: run node scripts/build.mjs`).toBe(true);
    const spansFile = join(dir, 'spans.jsonl');
    const config = join(dir, 'switchboard.config.mjs');
    writeFileSync(
      config,
      `import { otelTelemetry } from ${JSON.stringify(pathToFileURL(otel).href)};\n` +
        'export default { switchboard: { telemetry: otelTelemetry() } };\n',
    );
    process.env.SPANS_FILE = spansFile;
    server = await spawnServer(execPath, ['--import', setup, bundle('node'), 'serve'], config);
    const parent = `00-${'4b'.repeat(16)}-${'0f'.repeat(8)}-01`;
    const { body } = await call(
      server.url,
      'POST',
      '/v1/tasks',
      { capability: 'job' },
      { traceparent: parent },
    );
    let seen: string | undefined;
    w = worker(server.url, (_, ctx) => {
      seen = ctx.traceparent;
      return 'ok';
    });
    expect((await settled(server.url, body.id)).status).toBe('completed');
    const spans = () =>
      existsSync(spansFile)
        ? readFileSync(spansFile, 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as Line)
            .filter((s) => s.attributes['messaging.message.id'] === body.id)
        : [];
    await until(() => spans().length >= 3);
    const byName = new Map(spans().map((s) => [s.name, s]));
    const send = byName.get('send job') as Line;
    const receive = byName.get('receive job') as Line;
    expect(send).toMatchObject({ traceId: '4b'.repeat(16), parentSpanId: '0f'.repeat(8) });
    expect(receive).toMatchObject({ traceId: send.traceId, parentSpanId: send.spanId });
    expect(byName.get('complete job')).toMatchObject({ traceId: send.traceId });
    // The worker, untraced, got the receive span's context in its lease.
    expect(seen).toBe(`00-${send.traceId}-${receive.spanId}-01`);
  });
});
