import type { HotRoutes } from './hot-routes.js';

/** A listening server, whatever the runtime. */
export interface Listening {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** Stops accepting connections and resolves once in-flight requests have finished. */
  close(): Promise<void>;
  /** Closes every connection at once (after a drain timed out). */
  forceClose(): void;
}

/** The few lines that differ between Node, Bun and Deno: how to listen. */
export interface RuntimeAdapter {
  readonly name: 'node' | 'bun' | 'deno';
  serve(
    fetch: (request: Request, env?: unknown) => Response | Promise<Response>,
    options: {
      port: number;
      host: string;
      /** The app's submit routes, for a runtime that serves them without Hono (Node). */
      hot?: HotRoutes;
    },
  ): Promise<Listening>;
}
