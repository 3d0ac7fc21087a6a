/**
 * The packages as a user gets them. Every package of packages/ (with the native addon's
 * platform package for this machine) and the third-party plugin are packed with pnpm, which
 * turns `workspace:` ranges into versions, then installed with plain npm, all at once, into a
 * project in the OS temp folder: no workspace and no links, and the registry serves only the
 * third-party dependencies. There the README's embedding example (examples/embedding/index.ts,
 * which test/examples checks is the README's block) runs on Node (tsx), Bun and Deno, the
 * native package loads its addon from the platform package, the packages' READMEs' examples
 * run, a program using their declarations type-checks, and `npx switchboard serve` answers
 * /healthz with the plugin named by its package name in a config file.
 *
 * It needs the build (`node scripts/build.mjs`, which `npm test` runs first); Bun or Deno
 * missing skips its run, saying so.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createClient } from '@switchboard/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRuntime } from '../e2e/servers.js';
import {
  killAll,
  processTree,
  root,
  type StartedProcess,
  servingUrl,
  startProcess,
} from '../shutdown/serve-process.js';

interface Manifest {
  name: string;
  version: string;
  main?: string;
  files?: string[];
  exports?: Record<string, string | Record<string, string>>;
  [field: string]: unknown;
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

/** The folders packed: each package, the platform packages holding a binary, the plugin. */
function packedFolders(): string[] {
  const packages = ['core', 'native', 'plugins', 'client', 'server', 'testing'].map(
    (name) => `packages/${name}`,
  );
  // A platform package is packed where its binary was built: here, this machine's.
  const platforms = readdirSync(join(root, 'packages/native/npm'))
    .map((name) => `packages/native/npm/${name}`)
    .filter((dir) => {
      const { main } = readJson<Manifest>(join(root, dir, 'package.json'));
      return main !== undefined && existsSync(join(root, dir, main));
    });
  return [...packages, ...platforms, 'examples/third-party-plugin'];
}

/** The tarball name pnpm gives a package: `@scope/name` becomes `scope-name-<version>.tgz`. */
const tarballName = ({ name, version }: Manifest) =>
  `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;

/** Runs a command to its end; throws with what it printed when it fails. */
function run(command: string, args: string[], cwd: string, env = process.env): string {
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 240_000 });
  if (r.status !== 0) {
    throw new Error(
      `\`${command} ${args.join(' ')}\` in ${cwd} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`,
    );
  }
  return r.stdout;
}

/**
 * This environment without what `npm test` adds for its own scripts (npm_config_*, INIT_CWD):
 * the scratch project's npm must read its own folder, not the repository's settings.
 */
function userEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && key !== 'INIT_CWD'),
  );
}

const folders = packedFolders();
/** The version every `@switchboard/*` package carries (they move together). */
const version = readJson<Manifest>(join(root, 'packages/core/package.json')).version;
const manifests = new Map(
  folders.map((dir) => [dir, readJson<Manifest>(join(root, dir, 'package.json'))]),
);
/** The project a user would have: the packages installed from their tarballs. */
let project = '';
/** Where the tarballs are packed. */
let packs = '';

beforeAll(() => {
  for (const name of ['core', 'native', 'plugins', 'client', 'server', 'testing']) {
    if (!existsSync(join(root, 'packages', name, 'dist/index.js'))) {
      throw new Error(`packages/${name}/dist is missing: run \`node scripts/build.mjs\` first`);
    }
  }
  // The plugin's author builds it before packing it; so does this test.
  run(
    join(root, 'node_modules/.bin/tsc'),
    ['-p', 'tsconfig.build.json'],
    join(root, 'examples/third-party-plugin'),
  );
  packs = mkdtempSync(join(tmpdir(), 'switchboard-packs-'));
  const pnpm = readJson<{ packageManager: string }>(join(root, 'package.json')).packageManager;
  const filters = folders.flatMap((dir) => ['--filter', `./${dir}`]);
  run('npx', ['--yes', pnpm, '-r', ...filters, 'pack', '--pack-destination', packs], root);

  project = mkdtempSync(join(tmpdir(), 'switchboard-install-'));
  const dependencies: Record<string, string> = {};
  for (const manifest of manifests.values()) {
    dependencies[manifest.name] = `file:${join(packs, tarballName(manifest))}`;
  }
  // Node 20 runs a .ts file through tsx, as the README says; the examples pin its version.
  const embedding = readJson<{ devDependencies: Record<string, string> }>(
    join(root, 'examples/embedding/package.json'),
  );
  dependencies.tsx = embedding.devDependencies.tsx as string;
  const pkg = { name: 'switchboard-user', private: true, type: 'module', dependencies };
  writeFileSync(join(project, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], project, userEnv());
}, 300_000);

// The project holds a whole node_modules: left behind by every run, they would fill the disk.
afterAll(() => {
  for (const dir of [project, packs]) if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('the packed packages', () => {
  it('install from their tarballs alone, none linked and none fetched from the registry', () => {
    const lock = readJson<{ packages: Record<string, { resolved?: string; link?: boolean }> }>(
      join(project, 'package-lock.json'),
    );
    for (const manifest of manifests.values()) {
      const entry = lock.packages[`node_modules/${manifest.name}`];
      expect(entry?.resolved, manifest.name).toMatch(/^file:.+\.tgz$/);
      expect(lstatSync(join(project, 'node_modules', manifest.name)).isSymbolicLink()).toBe(false);
    }
    expect(Object.entries(lock.packages).filter(([, entry]) => entry.link === true)).toEqual([]);
  });

  for (const dir of folders) {
    const source = manifests.get(dir) as Manifest;
    describe(source.name, () => {
      const installed = () => join(project, 'node_modules', source.name);
      const manifest = () => readJson<Manifest>(join(installed(), 'package.json'));

      it('names versions where the workspace had workspace: ranges, and says its metadata', () => {
        const packed = manifest();
        expect(JSON.stringify(packed)).not.toContain('workspace:');
        for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
          const deps = (packed[field] ?? {}) as Record<string, string>;
          for (const [name, range] of Object.entries(deps)) {
            if (name.startsWith('@switchboard/')) expect([version, `^${version}`]).toContain(range);
          }
        }
        expect(packed.license).toBe('MIT');
        expect(packed.engines).toEqual({ node: '>=20' });
        expect(packed.repository).toMatchObject({ type: 'git', directory: dir });
        expect(packed.sideEffects).toBe(false);
        expect(packed.files).toEqual(expect.arrayContaining(['LICENSE', 'README.md']));
      });

      it('ships its build, README and LICENSE, and nothing else', () => {
        const files = readdirSync(installed(), { recursive: true, withFileTypes: true })
          .filter((entry) => entry.isFile())
          .map((entry) => relative(installed(), join(entry.parentPath, entry.name)));
        const packed = manifest();
        expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE']));
        const allowed = (file: string) =>
          ['package.json', 'README.md', 'LICENSE', packed.main].includes(file) ||
          (file.startsWith('dist/') && /\.(js|js\.map|d\.ts)$/.test(file));
        expect(files.filter((file) => !allowed(file))).toEqual([]);
        expect(readFileSync(join(installed(), 'LICENSE'), 'utf8')).toBe(
          readFileSync(join(root, 'LICENSE'), 'utf8'),
        );
        // Source maps carry the sources they point at, since src/ does not ship.
        for (const map of files.filter((file) => file.endsWith('.js.map'))) {
          const { sources, sourcesContent } = readJson<{
            sources: string[];
            sourcesContent?: unknown[];
          }>(join(installed(), map));
          expect(sourcesContent?.length, map).toBe(sources.length);
        }
        // Every file an export names is there, its declarations included.
        for (const target of Object.values(packed.exports ?? {})) {
          for (const file of typeof target === 'string' ? [target] : Object.values(target)) {
            expect(existsSync(join(installed(), file)), `${source.name}: ${file}`).toBe(true);
          }
        }
      });
    });
  }
});

describe('the README’s embedding example in the installed project', () => {
  const runtimes = [
    { name: 'Node (tsx)', bin: () => join(project, 'node_modules/.bin/tsx'), args: [] },
    { name: 'Bun', bin: () => findRuntime('bun'), args: [] },
    { name: 'Deno', bin: () => findRuntime('deno'), args: ['run'] },
  ];
  for (const { name, bin, args } of runtimes) {
    it(`runs on ${name}`, (ctx) => {
      const command = bin();
      if (command === undefined) {
        console.warn(`packaging: no ${name} found, its run of the embedding example is skipped`);
        ctx.skip();
        return;
      }
      writeFileSync(
        join(project, 'embedding.ts'),
        readFileSync(join(root, 'examples/embedding/index.ts')),
      );
      const printed = run(command, [...args, 'embedding.ts'], project, userEnv());
      expect(JSON.parse(printed)).toEqual({
        result: { summary: 'hello', attempt: 1 },
        summaries: [
          { summary: 'first page', attempt: 1 },
          { summary: 'second page', attempt: 1 },
        ],
      });
    }, 60_000);
  }
});

describe('the packages’ READMEs in the installed project', () => {
  for (const name of ['core', 'native', 'plugins']) {
    it(`@switchboard/${name}: the example of its one main use runs`, () => {
      const readme = readFileSync(join(root, 'packages', name, 'README.md'), 'utf8');
      const at = readme.indexOf('\n## Its one main use');
      const block = /^```ts\n([\s\S]*?)^```$/m.exec(readme.slice(at));
      expect(at >= 0 && block !== null, `packages/${name}/README.md has no example`).toBe(true);
      writeFileSync(join(project, `readme-${name}.ts`), block?.[1] as string);
      const tsx = join(project, 'node_modules/.bin/tsx');
      run(tsx, [`readme-${name}.ts`], project, userEnv());
    }, 60_000);
  }
});

describe('the packages’ declarations', () => {
  it('type-check a program of the installed project, as NodeNext resolves them', () => {
    const program = [
      "import { createSwitchboard, defineAgent, type SubmitInput } from '@switchboard/core';",
      "import * as broker from '@switchboard/core/broker';",
      "import { createApp } from '@switchboard/server';",
      "import { createClient } from '@switchboard/client';",
      "import { loadNative } from '@switchboard/native';",
      "import { builtinPlugin } from '@switchboard/plugins';",
      "import { journalPlugin } from '@switchboard/plugins/journal';",
      "import latency from 'switchboard-plugin-latency';",
      "const echo = defineAgent({ name: 'echo', capabilities: ['echo'], handle: (p: string) => p });",
      'const sb = createSwitchboard({ agents: [echo], plugins: [builtinPlugin, journalPlugin, latency] });',
      'const app = createApp(sb);',
      "const client = createClient({ baseUrl: 'http://127.0.0.1:8787' });",
      'const backend: "native" | "js" = loadNative().backend;',
      "const input: SubmitInput<string> = { capability: 'echo', payload: 'x' };",
      'export { app, backend, broker, client };',
      // A wrong type must be refused, so that the check is not vacuous (types read as any).
      '// @ts-expect-error: what run<string> resolves with is not a number',
      'export const wrong: number = await sb.run<string>(input);',
    ].join('\n');
    writeFileSync(join(project, 'typed.ts'), program);
    const tsconfig = {
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2023', 'DOM'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        types: [],
      },
      files: ['typed.ts'],
    };
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(tsconfig));
    // Library checks stay on: they are what reads the packages' declarations.
    run(join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], project);
    // tsc reads every declaration of every dependency; a loaded machine takes its time.
  }, 120_000);
});

describe('@switchboard/native installed', () => {
  it('loads its addon from the platform package of this machine', (ctx) => {
    const script = [
      "import { loadNative, platformTriples } from '@switchboard/native';",
      'const { backend, path } = loadNative();',
      'console.log(JSON.stringify({ backend, path, platforms: platformTriples() }));',
    ].join('\n');
    writeFileSync(join(project, 'native.mjs'), script);
    const loaded = JSON.parse(run(process.execPath, ['native.mjs'], project, userEnv()));
    const packed = [...manifests.keys()].filter((dir) => dir.startsWith('packages/native/npm/'));
    const mine = loaded.platforms.find((p: string) => packed.includes(`packages/native/npm/${p}`));
    if (mine === undefined) {
      console.warn(
        `packaging: no platform package built for ${loaded.platforms.join(' or ')}, the native load is not checked`,
      );
      ctx.skip();
      return;
    }
    expect(loaded).toMatchObject({ backend: 'native', path: `@switchboard/native-${mine}` });
  });
});

describe('npx switchboard serve in the installed project', () => {
  let server: StartedProcess | undefined;
  afterAll(() => {
    if (server !== undefined) killAll(processTree(server.pid));
  });

  it('answers /healthz, with the plugin its config file names by package name', async () => {
    const config = [
      '// The plugin by its package name, as docs/plugins.md installs it.',
      'const timed = (name, ms) => ({',
      "  name, capabilities: ['llm'],",
      '  handle: () => new Promise((resolve) => setTimeout(() => resolve(name), ms)),',
      '});',
      'export default {',
      "  plugins: ['switchboard-plugin-latency'],",
      "  switchboard: { loadBalancer: 'least-latency', recovery: 'restart-then-give-up' },",
      "  agents: [timed('slow', 40), timed('fast', 2)],",
      '};',
    ].join('\n');
    writeFileSync(join(project, 'switchboard.config.mjs'), config);
    const args = ['switchboard', 'serve', '--port', '0', '--config', 'switchboard.config.mjs'];
    // npm settings that `npm test` passes down would point npx at the repository.
    const env = { npm_config_local_prefix: project, INIT_CWD: project };
    server = startProcess('npx', args, env, project);
    const url = servingUrl(await server.line(/serving http/, 30_000));
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    // least-latency tries each agent once, then keeps to the fast one; round-robin would
    // split the ten 5/5, and a server without the plugin would not start.
    const client = createClient({ baseUrl: url });
    const placed: Record<string, number> = {};
    for (let i = 0; i < 10; i++) {
      const { id } = await client.submit({ capability: 'llm', payload: i });
      const task = await client.result(id, 10_000);
      expect(task.status).toBe('completed');
      placed[task.result as string] = (placed[task.result as string] ?? 0) + 1;
    }
    expect(placed.fast).toBeGreaterThanOrEqual(8);
  }, 60_000);
});
