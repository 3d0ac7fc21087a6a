// A Switchboard with isolated agents as a process of its own, for isolate-runtimes.test.ts:
// run on Node or Bun with the agent module's path and a mode. `tasks` runs tasks on a
// thread agent and on a process agent, one of them crashing its child, and prints a JSON
// line for each; `failures` makes thread and process agents fail as a further argument says
// (hang, run out of memory, throw at top level), and prints the attempt each task completed
// at and the reasons agent.failed gave;
// `orphan` starts a process agent, prints its own pid and its child's, and waits to be
// killed.
import { createSwitchboard } from '@switchboard/core';
import { isolate } from '@switchboard/plugins/isolate';

interface Where {
  pid: number;
  attempt: number;
  value?: unknown;
}

const [module, mode] = process.argv.slice(2) as [string, string];
const print = (line: object) => console.log(JSON.stringify(line));

if (mode === 'orphan') {
  const sb = createSwitchboard({ agents: [await isolate(module, { runIn: 'process' })] });
  await sb.start();
  const handle = await sb.submit({ capability: 'work', payload: { do: 'echo' } });
  print({ hostPid: process.pid, childPid: ((await handle.result) as Where).pid });
  setInterval(() => undefined, 60_000);
} else if (mode === 'failures') {
  // The cases to cause, as `thread:hang,oom;process:hang`.
  for (const part of String(process.argv[4]).split(';')) {
    const [runIn, cases] = part.split(':') as ['thread' | 'process', string];
    const sb = createSwitchboard({
      agents: [
        await isolate(module, { runIn, maxHeapMb: 64, config: { heartbeatTimeoutMs: 1_000 } }),
      ],
    });
    const failed: string[] = [];
    sb.events.subscribe('agent.failed', (e) => {
      failed.push(String(e.reason));
    });
    await sb.start();
    const attempts: number[] = [];
    for (const what of cases.split(',')) {
      const done = (await sb.run({ capability: 'work', payload: { do: what } })) as Where;
      attempts.push(done.attempt);
    }
    print({ runIn, attempts, failed });
    await sb.shutdown();
  }
  print({ done: true });
} else {
  for (const runIn of ['thread', 'process'] as const) {
    const sb = createSwitchboard({ agents: [await isolate(module, { runIn, maxTasks: 2 })] });
    const failed: string[] = [];
    sb.events.subscribe('agent.failed', (e) => {
      failed.push(String(e.reason));
    });
    await sb.start();
    const values = (await sb.runMany(
      [1, 2, 3].map((value) => ({ capability: 'work', payload: { do: 'echo', value } })),
    )) as Where[];
    const crash = (await sb.run({ capability: 'work', payload: { do: 'exit' } })) as Where;
    const said = (await sb.run({
      capability: 'work',
      payload: { do: 'say', text: `said in a ${runIn}` },
    })) as Where & { threadId: number };
    print({
      runIn,
      values: values.map((v) => v.value),
      pids: new Set(values.map((v) => v.pid)).size,
      crashAttempt: crash.attempt,
      failed,
      otherPid: values.every((v) => v.pid !== process.pid),
      saidBy: runIn === 'process' ? said.pid : said.threadId,
    });
    await sb.shutdown();
  }
  print({ done: true });
}
