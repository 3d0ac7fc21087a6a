import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { exportSources } from './test/helpers/workspace-sources.js';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// Each export of a package mapped one by one to the source file its package.json says it is
// built from, for packages whose subpaths are not folders of src/.
const exactly = (sources: Map<string, string>) =>
  [...sources].map(([specifier, file]) => ({
    find: new RegExp(`^${specifier}$`),
    replacement: file,
  }));

// Tests run against the sources, not the bundles: each workspace package name maps to its src/.
const alias = [
  { find: /^@switchboard\/core$/, replacement: src('./packages/core/src/index.ts') },
  { find: /^@switchboard\/core\/(.+)$/, replacement: src('./packages/core/src/$1/index.ts') },
  ...exactly(exportSources('plugins')),
  ...exactly(exportSources('client')),
  { find: /^@switchboard\/native$/, replacement: src('./packages/native/src/index.ts') },
  { find: /^@switchboard\/server$/, replacement: src('./packages/server/src/index.ts') },
  { find: /^@switchboard\/server\/(.+)$/, replacement: src('./packages/server/src/$1.ts') },
  // The conformance suites from their sources too. Core's own tests reach them only this way:
  // core may not depend on the package that depends on it.
  ...exactly(exportSources('testing')),
];

// The Redis tests start a real redis-server (Debian's package; `.ci/run` installs it). On a
// machine without one they are left out, and the run says so instead of failing.
const hasRedis = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
const withoutRedis = hasRedis ? [] : ['**/redis*.test.ts'];
if (!hasRedis) {
  console.warn('vitest: redis-server not found, the Redis backend tests are skipped');
}

const project = (name: string, dir: string) => ({
  resolve: { alias },
  test: {
    name,
    root: src(dir),
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', ...withoutRedis],
  },
});

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      project('client', './packages/client'),
      project('core', './packages/core'),
      project('native', './packages/native'),
      project('plugins', './packages/plugins'),
      project('server', './packages/server'),
      project('testing', './packages/testing'),
      project('integration', './test'),
    ],
    coverage: {
      provider: 'v8',
      include: ['packages/*/src/**/*.ts'],
      exclude: ['**/*.d.ts', '**/index.ts'],
      reporter: ['text-summary', 'json-summary'],
      thresholds: {
        lines: 85,
        'packages/core/src/agent/**': { lines: 95 },
        'packages/core/src/{broker,events,model,protocol,structures}/**': { lines: 88 },
        'packages/core/src/runtime/**': { lines: 82 },
        'packages/core/src/{coordinator,resources}/**': { lines: 82 },
        'packages/core/src/health/**': { lines: 90 },
      },
    },
  },
});
