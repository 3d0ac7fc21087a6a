import { existsSync } from 'node:fs';
import { describe } from 'vitest';
import { runE2E } from './contract.js';
import { bundle, findRuntime, spawnServer } from './servers.js';

// The same contract against the Bun bundle (`bun` npm package, or $BUN_BIN); needs a build.
const bun = findRuntime('bun');
const entry = bundle('bun');

describe.skipIf(bun === undefined || !existsSync(entry))('HTTP contract on Bun', () => {
  runE2E((config) => spawnServer(bun as string, [entry], config), { fuzzRuns: 500 });
});
