import { createServer, type RequestListener, type ServerOptions } from 'node:http';
import { serve } from '@hono/node-server';
import { withHotRoutes } from './node-hot-path.js';
import type { Listening, RuntimeAdapter } from './runtime.js';

/**
 * Node.js: `@hono/node-server`, with the app's submit routes served straight from Node's
 * request when the app offers them (`withHotRoutes`).
 *
 * @example
 * ```ts
 * const app = createApp(sb)
 * const server = await nodeRuntime.serve(app.fetch, { port: 8787, host: '127.0.0.1', hot: app.hot })
 * ```
 */
export const nodeRuntime: RuntimeAdapter = {
  name: 'node',
  serve: (fetch, { port, host, hot }) =>
    new Promise<Listening>((resolve, reject) => {
      const withHot =
        hot === undefined
          ? {}
          : {
              createServer: ((options: ServerOptions, listener: RequestListener) =>
                createServer(options, withHotRoutes(hot, listener))) as typeof createServer,
            };
      const server = serve({ fetch, port, hostname: host, ...withHot }, (info) => {
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
