import { describe } from 'vitest';
import { startServer } from '../../packages/server/src/cli.js';
import { nodeRuntime } from '../../packages/server/src/node.js';
import { runE2E } from './contract.js';
import { writeConfig } from './servers.js';

// The server runs in this process (from the sources), on a real port of 127.0.0.1.
describe('HTTP contract on Node', () => {
  runE2E(
    async (config) => {
      const server = await startServer(
        nodeRuntime,
        ['--port', '0', '--config', writeConfig(config)],
        {},
        () => undefined,
      );
      return {
        url: server.url,
        stop: async () => {
          await server.stop();
        },
      };
    },
    { fuzzRuns: 2000 },
  );
});
