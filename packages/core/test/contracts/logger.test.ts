import { describe, expect, it } from 'vitest';
import type { LogFields, Logger } from '../../src/contracts/logger.js';
import { resolveLogger, silentLogger } from '../../src/contracts/logger.js';
import { SwitchboardError } from '../../src/errors.js';
import { definePlugin } from '../../src/plugin/define-plugin.js';
import { checkSwitchboardOptions } from '../../src/runtime/option-checks.js';
import { createSwitchboard } from '../../src/switchboard.js';

/** A logger that keeps its lines. */
function recording(): Logger & { lines: [string, string, LogFields | undefined][] } {
  const lines: [string, string, LogFields | undefined][] = [];
  const at = (level: string) => (msg: string, fields?: LogFields) => {
    lines.push([level, msg, fields]);
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function thrown(run: () => unknown): SwitchboardError {
  try {
    run();
  } catch (err) {
    return err as SwitchboardError;
  }
  throw new Error('expected a throw');
}

describe('the logger option', () => {
  it('is silent when not given', () => {
    expect(resolveLogger(undefined)).toBe(silentLogger);
    const seen: Logger[] = [];
    const probe = definePlugin({ name: 'probe', setup: (ctx) => seen.push(ctx.logger) });
    createSwitchboard({ plugins: [probe] });
    expect(seen).toEqual([silentLogger]);
  });

  it('refuses anything but an object with debug, info, warn and error, naming the option', () => {
    const notObject = thrown(() => createSwitchboard({ logger: 'console' as never }));
    expect(notObject).toBeInstanceOf(SwitchboardError);
    expect(notObject.code).toBe('invalid_config');
    expect(notObject.message).toBe(
      'logger must be an object with debug, info, warn, error methods, got console',
    );
    const partial = thrown(() => createSwitchboard({ logger: { info: () => undefined } as never }));
    expect(partial.code).toBe('invalid_config');
    expect(partial.message).toMatch(/^logger\.debug must be a function/);
    const nested = thrown(() => checkSwitchboardOptions({ logger: { debug: 1 } }, 'switchboard'));
    expect(nested.code).toBe('invalid_config');
    expect(nested.details).toEqual({ field: 'switchboard.logger.debug' });
  });

  it('is handed to every plugin as ctx.logger', () => {
    const logger = recording();
    const probe = definePlugin({
      name: 'probe',
      setup: (ctx) => ctx.logger.info('probe set up', { plugin: 'probe' }),
    });
    createSwitchboard({ plugins: [probe], logger });
    expect(logger.lines).toEqual([['info', 'probe set up', { plugin: 'probe' }]]);
  });

  it('hears background errors when no onError is given, with their code', () => {
    const logger = recording();
    const sb = createSwitchboard({ logger });
    sb.events.subscribe('custom.thing', () => {
      throw new SwitchboardError('internal', 'a subscriber broke');
    });
    sb.events.publish('custom.thing', {});
    expect(logger.lines).toEqual([
      ['error', 'background error: (internal) a subscriber broke', expect.anything()],
    ]);
    const heard: unknown[] = [];
    const own = createSwitchboard({ logger, onError: (e) => heard.push(e) });
    own.events.subscribe('custom.thing', () => {
      throw new Error('again');
    });
    own.events.publish('custom.thing', {});
    expect(heard).toHaveLength(1);
    expect(logger.lines).toHaveLength(1);
  });
});
