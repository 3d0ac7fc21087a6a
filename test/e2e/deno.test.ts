import { existsSync } from 'node:fs';
import { describe } from 'vitest';
import { runE2E } from './contract.js';
import { bundle, findRuntime, spawnServer } from './servers.js';

// The same contract against the Deno bundle (`deno` npm package, or $DENO_BIN); needs a build.
const deno = findRuntime('deno');
const entry = bundle('deno');
const permissions = ['--allow-net', '--allow-env', '--allow-read', '--allow-ffi', '--allow-sys'];

describe.skipIf(deno === undefined || !existsSync(entry))('HTTP contract on Deno', () => {
  runE2E((config) => spawnServer(deno as string, ['run', ...permissions, entry], config), {
    fuzzRuns: 500,
  });
});
