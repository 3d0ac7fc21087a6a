import { describe, expect, it } from 'vitest';
import { backendSpec, parseArgs, resolveConfig } from '../src/config.js';
import { checkServerConfig } from '../src/config-file.js';
import { authLabel, checkExposure, isLoopback } from '../src/exposure.js';

/** The message of the error `check()` throws (the test fails when it throws none). */
function refusal(check: () => unknown): string {
  try {
    check();
  } catch (error) {
    expect(error).toMatchObject({ code: 'invalid_config' });
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('parseArgs', () => {
  it('reads serve flags in both spellings', () => {
    expect(
      parseArgs([
        'serve',
        '--port',
        '9000',
        '--host=0.0.0.0',
        '--backend',
        'journal:/tmp/j',
        '--config',
        'c.json',
      ]),
    ).toEqual({
      port: 9000,
      host: '0.0.0.0',
      backend: 'journal:/tmp/j',
      config: 'c.json',
    });
    expect(parseArgs(['--help'])).toEqual({ help: true });
    expect(parseArgs(['serve', '--allow-unauthenticated'])).toEqual({ allowUnauthenticated: true });
  });

  it('fails fast naming a bad flag or value', () => {
    expect(() => parseArgs(['--prot', '1'])).toThrow(/--prot/);
    expect(() => parseArgs(['--port', '70000'])).toThrow(/--port/);
    expect(() => parseArgs(['--host'])).toThrow(/needs a value/);
  });
});

describe('resolveConfig', () => {
  it('defaults to 127.0.0.1:8787 with the memory backend and auth off', () => {
    expect(resolveConfig({}, {})).toMatchObject({
      port: 8787,
      host: '127.0.0.1',
      backend: 'memory',
      tokens: {},
    });
  });

  it('ranks flags over environment over file', () => {
    const env = {
      PORT: '9001',
      HOST: '::1',
      SWITCHBOARD_BACKEND: 'redis://r:6379',
      SWITCHBOARD_HEARTBEAT_TIMEOUT_MS: '5000',
      SWITCHBOARD_CLIENT_TOKEN: 'c',
    };
    const file = { port: 1, host: 'h', backend: 'memory', tokens: { admin: 'a', client: 'old' } };
    expect(resolveConfig({}, env, file)).toMatchObject({
      port: 9001,
      host: '::1',
      backend: 'redis://r:6379',
      heartbeatTimeoutMs: 5000,
      tokens: { admin: 'a', client: 'c' },
    });
    expect(resolveConfig({ port: 2 }, env, file).port).toBe(2);
    expect(resolveConfig({}, {}, file)).toMatchObject({ port: 1, host: 'h' });
    expect(() => resolveConfig({}, { PORT: 'eighty' })).toThrow(/PORT/);
  });
});

describe('log settings', () => {
  it('default to info, pretty, and rank flags over environment over the config file', () => {
    expect(resolveConfig({}, {}).log).toEqual({ level: 'info', format: 'pretty' });
    const file = checkServerConfig({ log: { level: 'debug', format: 'json' } });
    expect(resolveConfig({}, {}, file).log).toEqual({ level: 'debug', format: 'json' });
    const env = { SWITCHBOARD_LOG_LEVEL: 'warn', SWITCHBOARD_LOG_FORMAT: 'pretty' };
    expect(resolveConfig({}, env, file).log).toEqual({ level: 'warn', format: 'pretty' });
    const flags = parseArgs(['--log-level=silent', '--log-format', 'json']);
    expect(resolveConfig(flags, env, file).log).toEqual({ level: 'silent', format: 'json' });
  });

  it('refuse a level or format that is not one of the choices, naming where it came from', () => {
    expect(refusal(() => parseArgs(['--log-level', 'verbose']))).toBe(
      '--log-level must be one of trace, debug, info, warn, error, silent, got "verbose"',
    );
    expect(refusal(() => parseArgs(['--log-format=text']))).toBe(
      '--log-format must be one of pretty, json, got "text"',
    );
    expect(refusal(() => resolveConfig({}, { SWITCHBOARD_LOG_FORMAT: 'xml' }))).toMatch(
      /^SWITCHBOARD_LOG_FORMAT must be one of pretty, json/,
    );
    expect(refusal(() => checkServerConfig({ log: { level: 'loud' } }))).toMatch(
      /^log\.level must be one of trace, debug/,
    );
    expect(refusal(() => checkServerConfig({ log: { levle: 'info' } }))).toMatch(
      /unknown config key "log\.levle" \(did you mean "level"\?\)/,
    );
  });
});

describe('backendSpec', () => {
  it('maps the backend names of API.md', () => {
    expect(backendSpec('memory')).toBeUndefined();
    expect(backendSpec('journal:./data')).toEqual({ name: 'journal', options: { dir: './data' } });
    expect(backendSpec('redis://localhost:6379')).toEqual({
      name: 'redis',
      options: { url: 'redis://localhost:6379' },
    });
    expect(() => backendSpec('mongo://x')).toThrow(
      expect.objectContaining({ code: 'invalid_config' }),
    );
  });
});

describe('checkServerConfig', () => {
  it('checks the schedules as sb.schedules.upsert does, naming schedules.N.field', () => {
    const schedule = { id: 'beat', everyMs: 60_000, task: { capability: 'beat' } };
    expect(checkServerConfig({ schedules: [schedule] }).schedules).toEqual([schedule]);
    expect(refusal(() => checkServerConfig({ schedules: schedule }))).toBe(
      'schedules must be an array of schedules',
    );
    expect(
      refusal(() =>
        checkServerConfig({ schedules: [schedule, { ...schedule, id: 'x', cron: 'no' }] }),
      ),
    ).toMatch(/^schedules\.1\.cron is not valid: /);
    expect(
      refusal(() => checkServerConfig({ schedules: [{ ...schedule, catchup: 'all' }] })),
    ).toContain('schedules.0 is not valid: unknown key "catchup"; known: id, cron,');
    expect(refusal(() => checkServerConfig({ schedules: [schedule, schedule] }))).toBe(
      'schedules.1.id repeats "beat"',
    );
  });

  it('refuses unknown keys at every level, naming the key with its path and the known ones', () => {
    const top = refusal(() => checkServerConfig({ prot: 9000 }));
    expect(top).toContain('unknown config key "prot" (did you mean "port"?)');
    expect(top).toContain('known: port, host, backend, heartbeatTimeoutMs, tokens');
    expect(refusal(() => checkServerConfig({ rateLimits: { perIP: { capacity: 1 } } }))).toBe(
      'unknown config key "rateLimits.perIP" (did you mean "perIp"?); known: perIp, perToken',
    );
    expect(
      refusal(() =>
        checkServerConfig({ rateLimits: { perIp: { capacity: 1, refillPerSec: 1, burst: 5 } } }),
      ),
    ).toContain('"rateLimits.perIp.burst"; known: capacity, refillPerSec, maxKeys');
    expect(refusal(() => checkServerConfig({ tokens: { admn: 'x' } }))).toContain(
      '"tokens.admn" (did you mean "admin"?); known: admin, client, agent',
    );
    expect(
      refusal(() => checkServerConfig({ switchboard: { loadBalancr: 'least-busy' } })),
    ).toContain('unknown option "switchboard.loadBalancr" (did you mean "loadBalancer"?)');
    expect(refusal(() => checkServerConfig({ switchboard: { retry: { base: 1 } } }))).toContain(
      '"switchboard.retry.base"',
    );
    expect(refusal(() => checkServerConfig({ events: { replayEvent: 10 } }))).toBe(
      'unknown config key "events.replayEvent" (did you mean "replayEvents"?); known: ' +
        'maxBufferedEvents, pingIntervalMs, replayEvents, replayBytes, replayRetentionMs',
    );
    expect(refusal(() => checkServerConfig({ xyzzy: true }))).not.toContain('did you mean');
  });

  it('refuses values of the wrong type or range, naming the key', () => {
    expect(refusal(() => checkServerConfig({ port: '80' }))).toMatch(/^port must be an integer/);
    expect(refusal(() => checkServerConfig({ port: 70000 }))).toMatch(/^port /);
    expect(refusal(() => checkServerConfig({ host: 8 }))).toMatch(/^host /);
    expect(refusal(() => checkServerConfig({ maxBodyBytes: -1 }))).toMatch(/^maxBodyBytes /);
    expect(refusal(() => checkServerConfig({ tokens: { admin: 1 } }))).toMatch(/^tokens.admin /);
    expect(refusal(() => checkServerConfig({ rateLimits: [] }))).toMatch(/^rateLimits /);
    expect(refusal(() => checkServerConfig({ agents: {} }))).toMatch(/^agents /);
    expect(refusal(() => checkServerConfig({ allowUnauthenticated: 'yes' }))).toMatch(
      /^allowUnauthenticated /,
    );
    expect(refusal(() => checkServerConfig({ events: 5 }))).toMatch(/^events must be an object/);
    expect(refusal(() => checkServerConfig({ events: { maxBufferedEvents: 0 } }))).toMatch(
      /^events.maxBufferedEvents must be an integer in 1..1000000/,
    );
    expect(refusal(() => checkServerConfig({ events: { replayRetentionMs: -1 } }))).toMatch(
      /^events.replayRetentionMs /,
    );
    expect(refusal(() => checkServerConfig({ switchboard: { defaultTimeoutMs: 0 } }))).toMatch(
      /^switchboard.defaultTimeoutMs must be an integer in 1..86400000/,
    );
  });

  it('takes every documented key', () => {
    const config = {
      port: 8787,
      host: '127.0.0.1',
      backend: 'memory',
      heartbeatTimeoutMs: 900,
      tokens: { admin: 'a', client: 'c', agent: 'g' },
      maxBodyBytes: 1024,
      rateLimits: {
        perIp: { capacity: 2, refillPerSec: 1 },
        perToken: { capacity: 2, refillPerSec: 1, maxKeys: 9 },
      },
      events: {
        maxBufferedEvents: 64,
        pingIntervalMs: 5000,
        replayEvents: 0,
        replayBytes: 0,
        replayRetentionMs: 0,
      },
      drainTimeoutMs: 100,
      plugins: [],
      agents: [],
      switchboard: { loadBalancer: 'least-busy', defaultMaxAttempts: 5 },
      allowUnauthenticated: false,
    };
    expect(checkServerConfig(config)).toBe(config);
  });
});

describe('checkExposure', () => {
  it('knows loopback addresses', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      'localhost',
      '::1',
      '[::1]',
      '::ffff:127.0.0.1',
    ]) {
      expect(isLoopback(host)).toBe(true);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '127.0.0.300', 'example.org']) {
      expect(isLoopback(host)).toBe(false);
    }
  });

  it('refuses a non-loopback host without a token unless told to allow it', () => {
    const open = resolveConfig({ host: '0.0.0.0' }, {});
    expect(refusal(() => checkExposure(open))).toMatch(
      /^refusing to serve on 0.0.0.0 without auth: set a token .* or pass --allow-unauthenticated/,
    );
    expect(() =>
      checkExposure(resolveConfig({ host: '0.0.0.0' }, { SWITCHBOARD_ADMIN_TOKEN: 't' })),
    ).not.toThrow();
    expect(() => checkExposure(resolveConfig({}, {}))).not.toThrow();
    const allowed = resolveConfig({ host: '0.0.0.0', allowUnauthenticated: true }, {});
    expect(() => checkExposure(allowed)).not.toThrow();
    expect(authLabel(allowed, 8787)).toBe(
      'off: port 8787 is open without auth to anyone who can reach 0.0.0.0',
    );
    const fromFile = resolveConfig({}, {}, { host: '::', allowUnauthenticated: true });
    expect(() => checkExposure(fromFile)).not.toThrow();
  });
});
