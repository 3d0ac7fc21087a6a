import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root. */
export const root = fileURLToPath(new URL('../..', import.meta.url));

/** The Node server bundle, `switchboard serve` (built by `node scripts/build.mjs`). */
export const serverBin = join(root, 'packages/server/dist/bin/node.js');

/** A process started by {@link startProcess}, with what it printed. */
export interface StartedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Every line printed so far, stdout and stderr together. */
  lines(): string[];
  /** The lines printed so far on stdout alone, and on stderr alone. */
  out(): string[];
  err(): string[];
  /** Resolves with the first line matching `pattern` (rejects after `ms`, or at exit). */
  line(pattern: RegExp, ms?: number): Promise<string>;
  /** Resolves when the process has exited, with its code or signal and the time it did. */
  readonly exited: Promise<{ code: number | null; signal: string | null; at: number }>;
}

/**
 * Starts `command` in its own process group (so a Ctrl-C can be played to the group), in
 * `cwd` (the repository's root unless given).
 */
export function startProcess(
  command: string,
  args: readonly string[],
  env: Record<string, string> = {},
  cwd: string = root,
): StartedProcess {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, PORT: '', HOST: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const lines: string[] = [];
  const byStream = { out: [] as string[], err: [] as string[] };
  const watchers = new Set<() => void>();
  const partial = { out: '', err: '' };
  const onData = (stream: 'out' | 'err') => (chunk: Buffer) => {
    const parts = (partial[stream] + chunk.toString('utf8')).split('\n');
    partial[stream] = parts.pop() ?? '';
    lines.push(...parts);
    byStream[stream].push(...parts);
    for (const watch of watchers) watch();
  };
  child.stdout?.on('data', onData('out'));
  child.stderr?.on('data', onData('err'));
  const exited = new Promise<{ code: number | null; signal: string | null; at: number }>(
    (resolve) => {
      child.on('exit', (code, signal) => {
        const at = Date.now();
        // Let the pipes deliver what was printed last before anyone reads the lines.
        child.on('close', () => {
          for (const stream of ['out', 'err'] as const) {
            if (partial[stream] === '') continue;
            lines.push(partial[stream]);
            byStream[stream].push(partial[stream]);
          }
          for (const watch of watchers) watch();
          resolve({ code, signal, at });
        });
      });
    },
  );
  const line = (pattern: RegExp, ms = 10_000) =>
    new Promise<string>((resolve, reject) => {
      let ended = false;
      const check = () => {
        const found = lines.find((l) => pattern.test(l));
        if (found !== undefined) finish(() => resolve(found));
        else if (ended) finish(() => reject(new Error(`exited without ${pattern}:\n${tail()}`)));
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`no ${pattern} within ${ms} ms:\n${tail()}`))),
        ms,
      );
      const finish = (then: () => void) => {
        clearTimeout(timer);
        watchers.delete(check);
        then();
      };
      void exited.then(() => {
        ended = true;
        check();
      });
      watchers.add(check);
      check();
    });
  const tail = () => lines.slice(-20).join('\n');
  return {
    child,
    pid: child.pid as number,
    lines: () => [...lines],
    out: () => [...byStream.out],
    err: () => [...byStream.err],
    line,
    exited,
  };
}

/** The URL in a `switchboard: serving <url> ...` line. */
export function servingUrl(line: string): string {
  const url = /serving (http:\/\/\S+)/.exec(line)?.[1];
  if (url === undefined) throw new Error(`no URL in ${line}`);
  return url;
}

/** `pid` and every process below it, read from `ps` (the tree as it stands now). */
export function processTree(pid: number): number[] {
  const table = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' });
  const children = new Map<number, number[]>();
  for (const row of table.trim().split('\n')) {
    const [p, parent] = row.trim().split(/\s+/).map(Number) as [number, number];
    children.set(parent, [...(children.get(parent) ?? []), p]);
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i] as number) ?? []));
  return tree;
}

/** True while `pid` runs (a zombie, which holds nothing and serves nothing, does not count). */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the command name, which is in parentheses and may hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    // No /proc entry: the process is gone.
    return false;
  }
}

/** Resolves once none of `pids` runs, or with those still running after `ms`. */
export async function whenGone(pids: readonly number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = pids.filter(running);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Ends what a test left running, each process by its own id. */
export function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      if (running(pid)) process.kill(pid, 'SIGKILL');
    } catch {
      // Gone between the check and the kill: nothing to end.
    }
  }
}

/** Whether something accepts connections at `url` (a refused connection: no). */
export async function listening(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    // Refused or timed out: nothing serves there.
    return false;
  }
}

/**
 * A config file with one in-process agent of capability `slow` (two slots) whose handler
 * takes `handleMs` (milliseconds).
 */
export function slowAgentConfig(handleMs: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-shutdown-'));
  const file = join(dir, 'config.mjs');
  writeFileSync(
    file,
    `export default {
  agents: [{
    name: 'slow',
    capabilities: ['slow'],
    config: { maxConcurrency: 2 },
    handle: (payload) => new Promise((resolve) => setTimeout(() => resolve(payload), ${handleMs})),
  }],
};
`,
  );
  return file;
}

/** POSTs JSON and returns the parsed answer, failing on a status other than `expect`. */
export async function post<T>(url: string, body: unknown, expect = 202): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== expect) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Resolves once task `id` is leased (polls its status every 10 ms, 5 s at most). */
export async function whenLeased(url: string, id: string): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const task = (await (await fetch(`${url}/v1/tasks/${id}`)).json()) as { status: string };
    if (task.status === 'leased') return;
    if (Date.now() > deadline) throw new Error(`task ${id} still ${task.status}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
