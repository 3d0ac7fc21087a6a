import type { Listening, RuntimeAdapter } from './runtime.js';

interface BunServer {
  readonly port: number;
  stop(closeActiveConnections?: boolean): Promise<void>;
}
declare const Bun: {
  serve(options: {
    fetch: (request: Request, server: unknown) => Response | Promise<Response>;
    port: number;
    hostname: string;
    idleTimeout?: number;
  }): BunServer;
};

/**
 * Bun: `Bun.serve`. The idle timeout is raised from Bun's 10 s so that lease long-polls
 * (up to 30 s) and result waits (up to 60 s) are not cut.
 */
export const bunRuntime: RuntimeAdapter = {
  name: 'bun',
  async serve(fetch, { port, host }): Promise<Listening> {
    const server = Bun.serve({ fetch, port, hostname: host, idleTimeout: 120 });
    return {
      port: server.port,
      close: () => server.stop(false),
      forceClose: () => void server.stop(true),
    };
  },
};
