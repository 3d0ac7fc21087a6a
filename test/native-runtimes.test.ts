/**
 * Smoke tests of `@switchboard/native` on Bun and Deno: the real runtimes (from the npm
 * packages `bun` and `deno`) load the built addon directly and through the package's
 * loader, run a batch through the queue and the limiter, and check that a bad argument is
 * a TypeError. Each part is skipped, with the reason printed, only when what it needs
 * cannot be found (the runtime binary, the addon, or the build).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { candidatePaths } from '../packages/native/src/loader.js';

const here = dirname(fileURLToPath(import.meta.url));
const fromTests = createRequire(join(here, 'package.json'));
const addonPath = candidatePaths().find((p) => p.endsWith('.node') && existsSync(p));
const bundle = join(here, '../packages/native/dist/index.js');

type Runtime = 'bun' | 'deno';

function platformPackage(runtime: Runtime): string {
  const { platform, arch } = process;
  if (runtime === 'bun') return `@oven/bun-${platform}-${arch === 'arm64' ? 'aarch64' : arch}`;
  return platform === 'linux' ? `@deno/linux-${arch}-glibc` : `@deno/${platform}-${arch}`;
}

/** The runtime binary installed by the test package, or why there is none. */
function findRuntime(runtime: Runtime): { bin?: string; reason?: string } {
  let dir: string;
  try {
    dir = dirname(realpathSync(fromTests.resolve(`${runtime}/package.json`)));
  } catch {
    return { reason: `the npm package "${runtime}" is not installed in test/ (test/package.json)` };
  }
  const fromMain = createRequire(join(dir, 'package.json'));
  const exe = process.platform === 'win32' ? '.exe' : '';
  const candidates: string[] = [];
  try {
    const plat = dirname(fromMain.resolve(`${platformPackage(runtime)}/package.json`));
    candidates.push(runtime === 'bun' ? join(plat, `bin/bun${exe}`) : join(plat, `deno${exe}`));
  } catch {
    // The platform package is optional; the main package's postinstall may have the binary.
  }
  candidates.push(runtime === 'bun' ? join(dir, 'bin/bun.exe') : join(dir, `deno${exe}`));
  for (const bin of candidates) {
    if (existsSync(bin) && spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0) {
      return { bin };
    }
  }
  return { reason: `no working ${runtime} binary among ${candidates.join(', ')}` };
}

function script(body: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-native-'));
  const file = join(dir, 'smoke.mjs');
  writeFileSync(file, body);
  return file;
}

/** Loads the .node file with require (never import) and prints what it computed. */
const direct = (path: string) => `
import { createRequire } from 'node:module';
const addon = createRequire(import.meta.url)(${JSON.stringify(path)});
const q = addon.queueCreate();
const handles = new Float64Array(3);
addon.queuePushMany(q, Uint8Array.of(3, 0, 1), handles, new Uint32Array(3));
const slots = new Uint32Array(3);
const popped = addon.queuePopMany(q, 3, slots);
let error = 'none';
try { addon.queuePop({}); } catch (e) { error = e.constructor.name; }
const l = addon.limiterCreate(2, 1, 10);
const out = new Float64Array(3);
const id = addon.limiterAdmit(l, 0, out);
addon.limiterAcquireMany(l, Uint32Array.of(id, id, id), undefined, 0, out);
console.log(JSON.stringify({ handles: [...handles], popped, slots: [...slots], error, waits: [...out] }));
`;

/** Goes through the package's loader and factories, as a user would. */
const viaLoader = (path: string) => `
const native = await import(${JSON.stringify(path)});
const load = native.loadNative();
const queue = native.createNativePriorityQueue();
queue.pushMany(['low', 'critical', 'high'], Uint8Array.of(3, 0, 1));
const limiter = native.createNativeRateLimiter({ capacity: 2, refillPerSec: 1 });
const waits = limiter.tryAcquireMany(['a', 'a', 'a'], undefined, 0);
console.log(JSON.stringify({ backend: load.backend, reason: load.reason ?? null,
  order: queue.popMany(3), waits: [...waits], live: queue.constructor.name }));
`;

function run(bin: string, runtime: Runtime, file: string, ffi = true): Record<string, unknown> {
  // Deno resolves `@switchboard/core` (imported by the bundle) through the workspace's
  // node_modules only when told to and run from inside the package.
  const deno = ['run', '--node-modules-dir=manual', '--allow-read', '--allow-env'];
  const args = runtime === 'bun' ? [file] : [...deno, ...(ffi ? ['--allow-ffi'] : []), file];
  const cwd = join(here, '../packages/native');
  const r = spawnSync(bin, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${runtime} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}');
}

for (const runtime of ['bun', 'deno'] as const) {
  const { bin, reason } = findRuntime(runtime);
  const missing =
    bin === undefined ? reason : addonPath === undefined ? 'the addon is not built' : undefined;
  if (missing !== undefined)
    console.warn(`native-runtimes: ${runtime} smoke tests skipped: ${missing}`);
  else if (!existsSync(bundle)) {
    console.warn(`native-runtimes: ${runtime} loader tests skipped: ${bundle} is not built`);
  }

  describe.skipIf(missing !== undefined)(`@switchboard/native on ${runtime}`, () => {
    it('loads the addon with require and runs a batch through queue and limiter', () => {
      expect(run(bin!, runtime, script(direct(addonPath!)))).toEqual({
        handles: [259, 512, 769],
        popped: 3,
        slots: [1, 2, 0],
        error: 'TypeError',
        waits: [0, 0, 1000],
      });
    });

    it.skipIf(!existsSync(bundle))('picks the native backend through the loader', () => {
      expect(run(bin!, runtime, script(viaLoader(bundle)))).toEqual({
        backend: 'native',
        reason: null,
        order: ['critical', 'high', 'low'],
        waits: [0, 0, 1000],
        live: 'NativePriorityQueue',
      });
    });

    if (runtime === 'deno') {
      it.skipIf(!existsSync(bundle))(
        'falls back to TypeScript without --allow-ffi, saying why',
        () => {
          const result = run(bin!, runtime, script(viaLoader(bundle)), false);
          expect(result).toMatchObject({ backend: 'js', live: 'BucketQueue' });
          expect(result.order).toEqual(['critical', 'high', 'low']);
          expect(result.reason).toMatch(/did not load/);
        },
      );
    }
  });
}
