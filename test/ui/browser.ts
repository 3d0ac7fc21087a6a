// A real browser for the dashboard's tests and screenshots: Debian's Chromium driven by
// playwright-core. `.ci/run` installs the package when it is missing.
import { existsSync } from 'node:fs';
import { type AppOptions, createApp, type SwitchboardApi } from '@switchboard/server';
import { nodeRuntime } from '@switchboard/server/node';

/**
 * The Chromium to drive: `$CHROMIUM_BIN` when set, else Debian's; undefined when it is not
 * there.
 */
export function findChromium(): string | undefined {
  const env = process.env.CHROMIUM_BIN;
  const bin = env === undefined || env === '' ? '/usr/bin/chromium' : env;
  return existsSync(bin) ? bin : undefined;
}

/** A server of the app on 127.0.0.1 behind a path prefix, as a reverse proxy would put it. */
export interface PrefixedServer {
  /** The origin and prefix, e.g. `http://127.0.0.1:41234/ops`. */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `createApp(engine, options)` under `prefix`: requests outside it are 404 and the
 * prefix is taken off the rest, as a reverse proxy does. A page that works here uses only
 * relative URLs.
 */
export async function servePrefixed(
  engine: SwitchboardApi,
  options: AppOptions = {},
  prefix = '/ops',
): Promise<PrefixedServer> {
  const app = createApp(engine, options);
  const server = await nodeRuntime.serve(
    (request: Request) => {
      const url = new URL(request.url);
      if (url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`)) {
        return new Response('outside the prefix', { status: 404 });
      }
      url.pathname = url.pathname.slice(prefix.length) || '/';
      return app.fetch(new Request(url, request));
    },
    { port: 0, host: '127.0.0.1' },
  );
  return { url: `http://127.0.0.1:${server.port}${prefix}`, close: () => server.close() };
}
