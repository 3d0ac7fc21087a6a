// Runs the pinned pnpm through npx, so nothing global is needed (pnpm 10 runs on Node 20).
import { spawnSync } from 'node:child_process';

export const PNPM = 'pnpm@10.34.9';

/** Runs pnpm with `args`; exits the process with pnpm's status when it fails. */
export function pnpm(args, opts = {}) {
  const r = spawnSync('npx', ['--yes', PNPM, ...args], { stdio: 'inherit', ...opts });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (import.meta.url === `file://${process.argv[1]}`) pnpm(process.argv.slice(2));
