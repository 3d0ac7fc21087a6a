/**
 * The paths the README and the pages of docs/ name, checked against the repository, so that
 * a file moved or renamed in the code cannot leave a reader of the docs at a dead end.
 *
 * What counts as a path: an inline code span (outside fenced blocks) made only of path
 * characters that either starts with a folder of the repository's root, or holds a `/` and
 * ends with `/` or a file extension; a bare `.ts` or `.rs` file name; and the target of a
 * relative Markdown link. Build output (`dist/`) is not checked, since it exists only after
 * a build. A path may be written from the repository's root, from a package or its `src/`
 * (the docs say `runtime/submit/task-intake.ts` for a file of core), from a folder of
 * `test/`, or from the page itself; a bare file name must exist somewhere in the repository.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Folders that hold build output, dependencies or caches: never named as sources. */
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'target', 'coverage', '.git']);
/** Extensions that make a span with a `/` a file path. */
const FILE_EXT = /\.(ts|mts|js|mjs|json|md|rs|toml|lua|yaml|yml)$/;
/** Characters a path written in the docs is made of; anything else is code or prose. */
const PATH_CHARS = /^[\w./@-]+$/;

/** The subfolders of `dir` (none when it does not exist). */
function subdirs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !SKIPPED_DIRS.has(e.name))
    .map((e) => join(dir, e.name));
}

/** The names of every file of the repository, outside build output and dependencies. */
function fileNames(dir: string, into = new Set<string>()): Set<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIPPED_DIRS.has(entry.name)) continue;
    if (entry.isDirectory()) fileNames(join(dir, entry.name), into);
    else into.add(entry.name);
  }
  return into;
}

/** The folders a path in the docs may be written from, besides the page's own folder. */
function pathBases(repo: string): string[] {
  const packages = subdirs(join(repo, 'packages'));
  return [
    repo,
    ...packages,
    ...packages.map((p) => join(p, 'src')),
    ...subdirs(join(repo, 'test')),
  ];
}

/** The Markdown outside fenced code blocks (the code in them is examples, not references). */
function prose(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```[^\n]*$/gm, '');
}

/**
 * The paths a Markdown page names that do not exist in the repository at `repo`; `pageDir` is
 * the folder of the page, which relative links start from.
 */
function deadPaths(markdown: string, pageDir: string, repo: string): string[] {
  const bases = [pageDir, ...pathBases(repo)];
  const rootFolders = new Set(subdirs(repo).map((d) => `${relative(repo, d)}/`));
  const exists = (path: string, from: readonly string[]) =>
    from.some((base) => existsSync(join(base, path)));
  let names: Set<string> | undefined;
  const dead: string[] = [];
  const text = prose(markdown);
  for (const [, span = ''] of text.matchAll(/`([^`\n]+)`/g)) {
    if (!PATH_CHARS.test(span) || span.startsWith('/') || span.startsWith('@')) continue;
    if (span.includes('dist/')) continue;
    if (span.includes('/')) {
      const fromRoot = [...rootFolders].some((folder) => span.startsWith(folder));
      if (!fromRoot && !span.endsWith('/') && !FILE_EXT.test(span)) continue;
      if (!exists(span, bases)) dead.push(span);
    } else if (/\.(ts|rs)$/.test(span) && !span.endsWith('.d.ts')) {
      names ??= fileNames(repo);
      if (!names.has(span)) dead.push(span);
    }
  }
  for (const [, target = ''] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
    const path = target.replace(/#.*$/, '');
    if (!exists(path, [pageDir])) dead.push(target);
  }
  return dead;
}

describe('paths named in the docs', () => {
  it('reports the paths that do not exist, and only those', () => {
    const page = [
      'The runtime is in `packages/core/src/runtime/` (was `packages/core/src/orchestration/`).',
      'Its dispatcher is `runtime/dispatch/dispatcher.ts`, once `task-distributor.ts`.',
      'The suites were in `test/conformance`; see [the guide](docs/plugins.md) and',
      '[gone](docs/gone.md#top), [anchor](#top), [site](https://example.com/a/b.md).',
      'Not paths: `application/json`, `a | b`, `/v1/tasks`, `@switchboard/core/broker`,',
      '`dist/index.js`, `ctx.spawn(...)`.',
      '```',
      '`packages/nowhere/in-a-code-block.ts`',
      '```',
    ].join('\n');
    expect(deadPaths(page, root, root)).toEqual([
      'packages/core/src/orchestration/',
      'task-distributor.ts',
      'test/conformance',
      'docs/gone.md#top',
    ]);
  });

  it('finds every path of README.md and docs/*.md in the repository', () => {
    const pages = [
      join(root, 'README.md'),
      ...readdirSync(join(root, 'docs'))
        .filter((name) => name.endsWith('.md'))
        .map((name) => join(root, 'docs', name)),
    ];
    const dead = pages.flatMap((page) =>
      deadPaths(readFileSync(page, 'utf8'), dirname(page), root).map(
        (path) => `${relative(root, page)}: ${path}`,
      ),
    );
    expect(dead).toEqual([]);
  });
});
