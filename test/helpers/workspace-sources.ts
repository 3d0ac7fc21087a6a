// Where each export of a workspace package lives in its sources, read from the package's own
// package.json by the rule scripts/build.mjs builds by: the export whose bundle is
// `./dist/X.js` is built from `./src/X.ts`. The tests, and the bundles some tests make from
// the sources, resolve a package's subpaths through this map, so that they resolve there
// exactly as they do in the built package, wherever a folder moves inside `src/`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packages = fileURLToPath(new URL('../../packages/', import.meta.url));

type ExportTarget = string | { default?: string };

/**
 * The source file of every export of `packages/<dir>`, by the specifier an importer writes
 * (`@switchboard/plugins`, `@switchboard/plugins/journal`, …).
 *
 * @example
 * ```ts
 * exportSources('plugins').get('@switchboard/plugins/journal')
 * // '/…/packages/plugins/src/backends/journal/index.ts'
 * ```
 */
export function exportSources(dir: string): Map<string, string> {
  const pkg = JSON.parse(readFileSync(join(packages, dir, 'package.json'), 'utf8')) as {
    name: string;
    exports?: Record<string, ExportTarget>;
  };
  const sources = new Map<string, string>();
  for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
    const out = typeof target === 'string' ? target : target.default;
    const m = /^\.\/dist\/(.+)\.js$/.exec(out ?? '');
    if (m) sources.set(pkg.name + subpath.slice(1), join(packages, dir, 'src', `${m[1]}.ts`));
  }
  return sources;
}

/** The source file of one export (`@switchboard/plugins/journal`); throws for any other. */
export function exportSource(specifier: string): string {
  const dir = /^@switchboard\/([^/]+)/.exec(specifier)?.[1];
  const file = dir === undefined ? undefined : exportSources(dir).get(specifier);
  if (file === undefined) throw new Error(`no workspace package exports ${specifier}`);
  return file;
}
