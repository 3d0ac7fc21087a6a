import type { Listening, RuntimeAdapter } from './runtime.js';

interface DenoServer {
  readonly addr: { port: number };
  readonly finished: Promise<void>;
  shutdown(): Promise<void>;
}
declare const Deno: {
  serve(
    options: { port: number; hostname: string; onListen?: () => void; signal?: AbortSignal },
    handler: (request: Request, info: unknown) => Response | Promise<Response>,
  ): DenoServer;
};

/** Deno: `Deno.serve` (run with `--allow-net --allow-env --allow-read`). */
export const denoRuntime: RuntimeAdapter = {
  name: 'deno',
  async serve(fetch, { port, host }): Promise<Listening> {
    const abort = new AbortController();
    const server = Deno.serve(
      { port, hostname: host, onListen: () => {}, signal: abort.signal },
      fetch,
    );
    return {
      port: server.addr.port,
      close: () => server.shutdown(),
      forceClose: () => abort.abort(),
    };
  },
};
