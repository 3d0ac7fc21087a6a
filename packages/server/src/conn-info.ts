/**
 * The peer address of a request, from whatever the runtime passed as Hono's `env`:
 * `@hono/node-server` passes `{ incoming }`, `Bun.serve` the server (`requestIP(req)`),
 * `Deno.serve` the handler info (`remoteAddr`). Headers such as `X-Forwarded-For` are never
 * read here: a client can write them.
 */
export function remoteAddress(env: unknown, request: Request): string {
  if (typeof env !== 'object' || env === null) return 'unknown';
  const node = (env as { incoming?: { socket?: { remoteAddress?: string } } }).incoming;
  if (node?.socket?.remoteAddress !== undefined) return node.socket.remoteAddress;
  const bun = env as { requestIP?: (req: Request) => { address: string } | null };
  if (typeof bun.requestIP === 'function') return bun.requestIP(request)?.address ?? 'unknown';
  const deno = (env as { remoteAddr?: { hostname?: string } }).remoteAddr;
  if (deno?.hostname !== undefined) return deno.hostname;
  return 'unknown';
}
