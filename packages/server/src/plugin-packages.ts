import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SwitchboardError } from '@switchboard/core';

/**
 * Loads the plugins a config file names. An object is taken as it is; a string is a package
 * (or a path) whose default export, or else its export `plugin`, is the plugin. A package is
 * looked up as an `import` written in a file of each folder of `from` would find it, in
 * order: the config file's folder first, then the working directory. So a plugin installed in
 * the user's project is found, not one that happens to sit beside the server's own install.
 *
 * @example
 * ```ts
 * const plugins = await resolvePlugins(['switchboard-plugin-latency'], [dirname(configFile), process.cwd()])
 * ```
 */
export async function resolvePlugins(
  plugins: readonly unknown[],
  from: readonly string[],
): Promise<unknown[]> {
  return Promise.all(
    plugins.map((plugin) =>
      typeof plugin === 'string' ? loadPluginPackage(plugin, from) : plugin,
    ),
  );
}

async function loadPluginPackage(name: string, from: readonly string[]): Promise<unknown> {
  const url = await locate(name, from);
  let mod: { default?: unknown; plugin?: unknown };
  try {
    mod = (await import(url)) as typeof mod;
  } catch (err) {
    throw new SwitchboardError(
      'invalid_config',
      `cannot load plugin ${JSON.stringify(name)} from ${url}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const plugin = mod.default ?? mod.plugin;
  if (plugin === undefined) {
    throw new SwitchboardError(
      'invalid_config',
      `plugin ${JSON.stringify(name)} (${url}) has neither a default export nor an export named plugin`,
    );
  }
  return plugin;
}

/** The URL of the module `name` names, found from the first folder of `from` that has it. */
async function locate(name: string, from: readonly string[]): Promise<string> {
  // Loaded here rather than at the top: a server whose config names no package never needs it.
  const { resolve } = await import('import-meta-resolve');
  const folders = [...new Set(from)];
  const errors: unknown[] = [];
  for (const folder of folders) {
    try {
      // Resolution starts from a module's URL; a file of the folder (which need not exist)
      // makes it start in that folder's node_modules, then its parents'.
      return resolve(name, pathToFileURL(join(folder, 'switchboard.config.mjs')).href);
    } catch (err) {
      // Not found from this folder: the next one may have it. Anything else (a package
      // whose exports refuse the import, say) is this package's fault, said at once.
      if ((err as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') {
        throw new SwitchboardError(
          'invalid_config',
          `cannot load plugin ${JSON.stringify(name)}: ${(err as Error).message}`,
          { cause: err },
        );
      }
      errors.push(err);
    }
  }
  const what = /^[./]/.test(name) ? 'no such file' : 'no such package installed';
  throw new SwitchboardError(
    'invalid_config',
    `cannot load plugin ${JSON.stringify(name)}: ${what} where the config file is nor in the working directory (looked from ${folders.join(', ')})`,
    { cause: new AggregateError(errors, `${name} was not found`) },
  );
}
