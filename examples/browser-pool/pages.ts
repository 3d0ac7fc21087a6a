// The site the browsers visit: a small HTTP server on 127.0.0.1, so that the example needs no
// internet. `/login?user=NAME` sets a cookie and `/whoami` shows it in its title, which is how
// the example proves that tasks of one session share a browser context.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A started site: its origin (`http://127.0.0.1:PORT`) and how to stop it. */
export interface Site {
  readonly url: string;
  close(): Promise<void>;
}

const page = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head>` +
  `<body style="font-family: sans-serif"><h1>${title}</h1><p>${body}</p></body></html>`;

/** The value of the cookie `name` in a `Cookie` header, if it is there. */
function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

/** Starts the site on 127.0.0.1 on a free port. */
export async function startSite(): Promise<Site> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const html = (status: number, title: string, body: string, headers = {}) => {
      response.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers });
      response.end(page(title, body));
    };
    const user = url.searchParams.get('user');
    if (url.pathname === '/login' && user !== null && /^[\w-]{1,40}$/.test(user)) {
      html(200, `Signed in as ${user}`, 'A session cookie is set.', {
        'set-cookie': `user=${encodeURIComponent(user)}; Path=/; HttpOnly; SameSite=Lax`,
      });
    } else if (url.pathname === '/whoami') {
      const who = cookie(request.headers.cookie, 'user');
      html(200, who === undefined ? 'Not signed in' : `Signed in as ${who}`, 'From the cookie.');
    } else {
      html(404, 'Not found', `Nothing at ${url.pathname}.`);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
}
