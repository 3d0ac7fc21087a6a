import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSwitchboardError } from '@switchboard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../src/cli.js';
import { nodeRuntime } from '../src/node.js';
import { resolvePlugins } from '../src/plugin-packages.js';

/**
 * A folder with `node_modules/<name>`: an ES module package whose only export condition is
 * `import` (what `require.resolve` cannot find), exporting `{ name: <said> }` as `exported`,
 * or whose module is `source`.
 */
function project(
  packages: Record<string, { said?: string; exported?: string; source?: string }>,
): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-plugins-'));
  for (const [name, { said = name, exported = 'default', source }] of Object.entries(packages)) {
    const pkg = join(dir, 'node_modules', name);
    mkdirSync(pkg, { recursive: true });
    const manifest = { name, type: 'module', exports: { '.': { import: './plugin.js' } } };
    writeFileSync(join(pkg, 'package.json'), JSON.stringify(manifest));
    const body = `{ name: ${JSON.stringify(said)} }`;
    const module =
      exported === 'default'
        ? `export default ${body};\n`
        : `export const ${exported} = ${body};\n`;
    writeFileSync(join(pkg, 'plugin.js'), source ?? module);
  }
  return dir;
}

/** The error `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(error instanceof Error)) throw new Error('expected a rejection');
  return error;
}

describe('resolvePlugins', () => {
  it('loads a package from the first folder that has it: the config file’s before the working directory', async () => {
    const config = project({ 'sb-plugin': { said: 'from the config folder' } });
    const cwd = project({
      'sb-plugin': { said: 'from the working directory' },
      'sb-other': { said: 'only in the working directory', exported: 'plugin' },
    });
    const plugins = await resolvePlugins(['sb-plugin', 'sb-other'], [config, cwd]);
    expect(plugins).toEqual([
      { name: 'from the config folder' },
      { name: 'only in the working directory' },
    ]);
  });

  it('finds a package installed in a parent of the config file’s folder, as an import there would', async () => {
    const root = project({ 'sb-plugin': { said: 'from the parent' } });
    const nested = join(root, 'config', 'prod');
    mkdirSync(nested, { recursive: true });
    expect(await resolvePlugins(['sb-plugin'], [nested])).toEqual([{ name: 'from the parent' }]);
  });

  it('takes plugin objects as they are and a relative path from the config file’s folder', async () => {
    const dir = project({});
    writeFileSync(join(dir, 'local.mjs'), 'export default { name: "local" };\n');
    const given = { name: 'given' };
    const plugins = await resolvePlugins([given, './local.mjs'], [dir]);
    expect(plugins[0]).toBe(given);
    expect(plugins[1]).toEqual({ name: 'local' });
  });

  it('says a package is missing with its name and every folder it was looked for from', async () => {
    const config = project({});
    const cwd = project({});
    const error = await failure(resolvePlugins(['sb-missing'], [config, cwd]));
    expect(isSwitchboardError(error) && error.code).toBe('invalid_config');
    expect(error.message).toBe(
      `cannot load plugin "sb-missing": no such package installed where the config file is nor in the working directory (looked from ${config}, ${cwd})`,
    );
  });

  it('says when a package has no plugin to give', async () => {
    const dir = project({ 'sb-empty': { said: 'unused', exported: 'somethingElse' } });
    const error = await failure(resolvePlugins(['sb-empty'], [dir]));
    expect(isSwitchboardError(error) && error.code).toBe('invalid_config');
    expect(error.message).toMatch(
      /^plugin "sb-empty" \(file:.+\/plugin\.js\) has neither a default export nor an export named plugin$/,
    );
  });
});

describe('switchboard serve --config with a plugin named by its package', () => {
  const running: RunningServer[] = [];
  afterEach(async () => {
    for (const server of running.splice(0)) await server.stop();
  });

  /** A config file in a project of its own that names `plugin` and its balancer. */
  function configIn(dir: string, plugin: string): string {
    const file = join(dir, 'switchboard.config.json');
    const config = { plugins: [plugin], switchboard: { loadBalancer: 'first-free' } };
    writeFileSync(file, JSON.stringify(config));
    return file;
  }

  it('loads it from the config file’s project, which the server’s own install cannot see', async () => {
    // A plain plugin object: the package needs nothing, not even @switchboard/core.
    const source = [
      'export default {',
      "  name: 'sb-first-free',",
      '  setup(ctx) {',
      "    ctx.loadBalancer('first-free', () => ({",
      "      name: 'first-free',",
      '      select: (candidates) => candidates.find((c) => c.freeSlots > 0),',
      '    }));',
      '  },',
      '};',
    ].join('\n');
    const dir = project({ 'sb-first-free': { source } });
    const argv = ['serve', '--port', '0', '--config', configIn(dir, 'sb-first-free')];
    const server = await startServer(nodeRuntime, argv, {}, () => {});
    running.push(server);
    // The balancer is known only through the plugin: without it the start would have failed.
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });

  it('stops the start with invalid_config naming the package and the config file’s folder', async () => {
    const dir = project({});
    const argv = ['serve', '--port', '0', '--config', configIn(dir, 'sb-not-installed')];
    const error = await failure(startServer(nodeRuntime, argv, {}, () => {}));
    expect(isSwitchboardError(error) && error.code).toBe('invalid_config');
    expect(error.message).toContain(
      `cannot load plugin "sb-not-installed": no such package installed where the config file is nor in the working directory (looked from ${dir}, `,
    );
  });
});
