import { serve } from '@hono/node-server';
import type { Listening, RuntimeAdapter } from './runtime.js';

/**
 * Node.js: `@hono/node-server`.
 *
 * @example
 * ```ts
 * const server = await nodeRuntime.serve(createApp(sb).fetch, { port: 8787, host: '127.0.0.1' })
 * ```
 */
export const nodeRuntime: RuntimeAdapter = {
  name: 'node',
  serve: (fetch, { port, host }) =>
    new Promise<Listening>((resolve, reject) => {
      const server = serve({ fetch, port, hostname: host }, (info) => {
        resolve({
          port: info.port,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              // Keep-alive connections with no request in flight would hold close() forever.
              (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
            }),
          forceClose: () =>
            (server as { closeAllConnections?: () => void }).closeAllConnections?.(),
        });
      });
      server.once('error', reject);
    }),
};
