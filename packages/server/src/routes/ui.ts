import { SwitchboardError } from '@switchboard/core';
import type { Context, Hono } from 'hono';
import type { AppEnv } from '../http.js';
import { UI_ASSETS } from './ui-assets.generated.js';

/** One file of the dashboard, as scripts/build-ui.mjs embeds it. */
export interface UiAsset {
  /** Its `Content-Type`. */
  type: string;
  body: string;
  /** A strong validator of its bytes. */
  etag: string;
  /** True for a file whose name holds its hash: it never changes under that name. */
  immutable: boolean;
}

// The page reaches only its own origin: its script and styles are files of /ui, its data the
// API. Styles set from script (uPlot's, Preact's `style` props) are not subject to this.
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

function serve(c: Context<AppEnv>, asset: UiAsset | undefined): Response {
  if (asset === undefined) {
    throw new SwitchboardError('not_found', `no dashboard file ${JSON.stringify(c.req.path)}`);
  }
  const headers: Record<string, string> = {
    ...PAGE_HEADERS,
    'content-type': asset.type,
    etag: asset.etag,
    // The page itself is revalidated each time, so that it always names the current assets.
    'cache-control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
  if (c.req.header('if-none-match') === asset.etag) return c.body(null, 304, headers);
  return c.body(asset.body, 200, headers);
}

/**
 * The dashboard at `/ui/`: a page, its script and its styles, embedded at build time. The
 * files are public (they hold no data; the page asks for a token when the API wants one).
 * `/ui` redirects to `/ui/` with a relative `Location`, so that the page's relative URLs
 * resolve under any path prefix a proxy adds.
 */
export function uiRoutes(app: Hono<AppEnv>): void {
  app.get('/ui', (c) => c.redirect('ui/', 308));
  app.get('/ui/', (c) => serve(c, UI_ASSETS['index.html']));
  app.get('/ui/:file', (c) => serve(c, UI_ASSETS[c.req.param('file')]));
}
