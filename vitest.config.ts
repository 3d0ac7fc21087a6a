import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// Tests run against the sources, not the bundles: each workspace package name maps to its src/.
const alias = [
  { find: /^@switchboard\/core$/, replacement: src('./packages/core/src/index.ts') },
  { find: /^@switchboard\/plugins$/, replacement: src('./packages/plugins/src/index.ts') },
  { find: /^@switchboard\/plugins\/(.+)$/, replacement: src('./packages/plugins/src/$1/index.ts') },
  { find: /^@switchboard\/native$/, replacement: src('./packages/native/src/index.ts') },
  { find: /^@switchboard\/server$/, replacement: src('./packages/server/src/index.ts') },
  { find: /^@switchboard\/server\/(.+)$/, replacement: src('./packages/server/src/$1.ts') },
];

const project = (name: string, dir: string) => ({
  resolve: { alias },
  test: {
    name,
    root: src(dir),
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
  },
});

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      project('core', './packages/core'),
      project('native', './packages/native'),
      project('plugins', './packages/plugins'),
      project('server', './packages/server'),
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
        'packages/core/src/{messaging,protocol}/**': { lines: 88 },
        'packages/core/src/orchestration/**': { lines: 82 },
        'packages/core/src/fault/**': { lines: 90 },
      },
    },
  },
});
