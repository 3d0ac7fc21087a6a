import { describe, expect, it } from 'vitest';
import { backendSpec, parseArgs, resolveConfig } from '../src/config.js';

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
