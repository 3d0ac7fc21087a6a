import type { Ask, FromChild, Setup, ToChild, WireContext, WireError } from './wire.js';

/**
 * The code an isolated agent's thread or process runs. The host sends it as source text
 * (`childSource`), so that it needs no file of its own beside the bundle that imports this
 * package: it must therefore refer to nothing outside its body (types excepted, which
 * vanish), and it imports what it needs through `load`, which the source text defines, since
 * a bundler or test runner may rewrite an `import()` written here into its own helper.
 *
 * It waits for the host's setup, loads the agent module, runs its init, then runs tasks as
 * they come and answers each, beating every `beatMs` so that a blocked event loop shows as
 * silence. It ends when the host stops or kills it.
 */
export async function isolateChild(
  load: (specifier: string) => Promise<Record<string, unknown>>,
): Promise<void> {
  const threads = (await load('node:worker_threads')) as typeof import('node:worker_threads');
  const port = threads.parentPort;
  const post = (message: FromChild, then?: () => void): void => {
    if (port !== null) {
      port.postMessage(message);
      then?.();
    } else (process.send as (m: unknown, cb: () => void) => void)(message, () => then?.());
  };
  const listen = (fn: (message: ToChild) => void): void => {
    if (port !== null) port.on('message', fn);
    else process.on('message', fn as (m: unknown) => void);
  };
  const wire = (thrown: unknown): WireError => {
    if (!(thrown instanceof Error)) return { name: 'Error', message: String(thrown) };
    const { code, retryable } = thrown as { code?: unknown; retryable?: unknown };
    return {
      name: thrown.name,
      message: thrown.message,
      ...(thrown.stack === undefined ? {} : { stack: thrown.stack }),
      ...(typeof code === 'string' ? { code } : {}),
      ...(typeof retryable === 'boolean' ? { retryable } : {}),
    };
  };
  if (port === null) {
    // A process whose host died (its IPC channel closed) has no one to work for: it ends
    // rather than live on as an orphan.
    process.on('disconnect', () => process.exit(0));
    // An uncaught error is reported before the process ends, so that the host can say what
    // killed it (a thread's host hears it from the Worker's error event).
    process.on('uncaughtException', (error) => {
      post({ t: 'crash', error: wire(error) }, () => process.exit(1));
      setTimeout(() => process.exit(1), 1_000).unref();
    });
  }

  type Hooks = {
    handle: (payload: unknown, ctx: unknown) => unknown;
    init?: (ctx: unknown) => unknown;
    shutdown?: (ref?: unknown) => unknown;
    healthCheck?: (ref?: unknown) => unknown;
  };
  let agent: Hooks | undefined;
  let setup: Setup | undefined;
  const running = new Map<number, AbortController>();
  // Messages that arrive while the module loads wait for it.
  const early: ToChild[] = [];

  // What handlers asked of the host (a child task, its result), by call number.
  const asked = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let calls = 0;
  const ask = (id: number, question: Ask): { call: number; answer: Promise<unknown> } => {
    const call = ++calls;
    const answer = new Promise<unknown>((resolve, reject) => {
      asked.set(call, { resolve, reject });
      try {
        post({ t: 'ask', id, call, ...question });
      } catch (thrown) {
        asked.delete(call);
        reject(thrown);
      }
    });
    return { call, answer };
  };
  const unwire = (error: WireError): Error => {
    const out = Object.assign(new Error(error.message), {
      ...(error.code === undefined ? {} : { code: error.code }),
      ...(error.retryable === undefined ? {} : { retryable: error.retryable }),
    });
    out.name = error.name;
    return out;
  };
  // A task's context in the child: the fields that crossed, its abort signal, and the calls
  // that reach the host (progress, partial output, child tasks) as messages.
  const context = (id: number, fields: WireContext, signal: AbortSignal) => {
    const spawn = async (input: Record<string, unknown>) => {
      if (input !== null && typeof input === 'object' && input.signal !== undefined) {
        throw Object.assign(
          new Error('spawn: an AbortSignal cannot cross to the host; cancel the handle instead'),
          { code: 'invalid_request', retryable: false },
        );
      }
      const { call, answer } = ask(id, { op: 'spawn', input });
      const made = (await answer) as { id: string; created: boolean };
      let result: Promise<unknown> | undefined;
      return {
        id: made.id,
        created: made.created,
        // Asked on first read, as in-process: a task nobody awaits costs no message.
        get result() {
          result ??= ask(id, { op: 'result', ref: call }).answer;
          return result;
        },
        cancel: () => ask(id, { op: 'cancel', ref: call }).answer,
      };
    };
    return {
      ...fields,
      agentId: setup?.agentId,
      signal,
      progress: (value: unknown) => post({ t: 'report', id, kind: 'progress', value }),
      stream: (value: unknown) => post({ t: 'report', id, kind: 'stream', value }),
      spawn,
      run: async (input: Record<string, unknown>) => (await spawn(input)).result,
    };
  };

  const answer = (id: number, ok: boolean, value: unknown): void => {
    if (ok) {
      try {
        post({ t: 'done', id, ok: true, value });
        return;
      } catch (thrown) {
        const why = thrown instanceof Error ? thrown.message : String(thrown);
        const message = `the result cannot be sent back from the isolated agent: ${why}`;
        value = Object.assign(new Error(message), { code: 'invalid_request', retryable: false });
      }
    }
    try {
      post({ t: 'done', id, ok: false, error: wire(value) });
    } catch (thrown) {
      post({ t: 'done', id, ok: false, error: wire(thrown) });
    }
  };

  const receive = (message: ToChild): void => {
    if (agent === undefined || setup === undefined) {
      early.push(message);
      return;
    }
    const hooks = agent;
    switch (message.t) {
      case 'run': {
        const controller = new AbortController();
        running.set(message.id, controller);
        const ctx = context(message.id, message.ctx, controller.signal);
        Promise.resolve()
          .then(() => hooks.handle(message.payload, ctx))
          .then(
            (value) => answer(message.id, true, value),
            (thrown: unknown) => answer(message.id, false, thrown),
          )
          .finally(() => running.delete(message.id));
        return;
      }
      case 'abort':
        running.get(message.id)?.abort(new Error(message.reason));
        return;
      case 'answer': {
        const waiting = asked.get(message.call);
        asked.delete(message.call);
        if (message.ok) waiting?.resolve(message.value);
        else waiting?.reject(unwire(message.error));
        return;
      }
      case 'health':
        Promise.resolve()
          .then(() => hooks.healthCheck?.() ?? true)
          .then(
            (report) => post({ t: 'health', id: message.id, report }),
            () => post({ t: 'health', id: message.id, report: false }),
          );
        return;
      case 'stop':
        clearInterval(beat);
        Promise.resolve()
          .then(() => hooks.shutdown?.())
          .then(
            () => post({ t: 'stopped' }),
            (thrown: unknown) => post({ t: 'stopped', error: wire(thrown) }),
          );
        return;
      case 'setup':
        return;
    }
  };

  let beat: ReturnType<typeof setInterval> | undefined;
  listen((message) => {
    if (message.t !== 'setup') {
      receive(message);
      return;
    }
    setup = message;
    const rss = () => (port === null ? process.memoryUsage.rss() : 0);
    // Bun may not report the channel's end: a new parent (the host died and the process was
    // adopted) ends the process as well, checked with each beat.
    const parent = process.ppid;
    beat = setInterval(() => {
      if (port === null && process.ppid !== parent) process.exit(0);
      post({ t: 'beat', rss: rss() });
    }, message.beatMs);
    post({ t: 'beat', rss: rss() });
    const { agentId, name, config } = message;
    load(message.module)
      .then(async (module) => {
        const spec = module[message.exportName] as Hooks | undefined;
        if (spec === null || typeof spec !== 'object' || typeof spec.handle !== 'function') {
          throw new Error(`${message.module} has no agent as its "${message.exportName}" export`);
        }
        const fail = (error: unknown, reason: 'crashed' | 'hung' = 'crashed') =>
          post({ t: 'fail', error: wire(error), reason });
        await spec.init?.call(spec, { agentId, name, config, fail });
        agent = {
          handle: spec.handle.bind(spec),
          // The instance they run for, as an in-process agent's hooks are told.
          ...(spec.shutdown === undefined
            ? {}
            : { shutdown: spec.shutdown.bind(spec, { agentId, name }) }),
          ...(spec.healthCheck === undefined
            ? {}
            : { healthCheck: spec.healthCheck.bind(spec, { agentId, name }) }),
        };
        post({ t: 'ready' });
        for (const waiting of early.splice(0)) receive(waiting);
      })
      .catch((thrown: unknown) => post({ t: 'start-failed', error: wire(thrown) }));
  });
}

/** The source text a thread (`eval`) or a process (`node -e`) runs. */
export function childSource(): string {
  return `(${isolateChild.toString()})((s) => import(s)).catch((e) => { console.error(e); process.exit(70); });`;
}
