import process from 'node:process';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { connect, EXIT, explain, type OpsContext, OpsError, resolveTarget } from './connection.js';
import { processOutput } from './output.js';
import { listAgents, listDeadLetters, replayDeadLetters, showStats } from './overview-commands.js';
import { tail } from './tail.js';
import { cancelTasks, listTasks, showTask, submitTask } from './task-commands.js';

/** The operator commands, which talk to a running server (`serve` starts one). */
export const OPS_COMMANDS = [
  'agents',
  'tasks',
  'task',
  'dead-letters',
  'replay',
  'cancel',
  'stats',
  'tail',
  'submit',
] as const;

const STATUSES = ['queued', 'leased', 'completed', 'dead', 'cancelled'];
const PRIORITIES = ['critical', 'high', 'normal', 'low'];

/** An option value that must be an integer within `min` … `max` (a usage error otherwise). */
function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}.`);
    }
    return n;
  };
}

type Run = (ctx: OpsContext, ...args: never[]) => Promise<number>;

/**
 * Runs one operator command (`argv` without the program name, e.g. `['tasks', '--json']`)
 * and answers its exit code (see `EXIT`). Errors are printed to stderr as one line each,
 * never as a stack trace.
 */
export async function runOps(
  argv: readonly string[],
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  let code: number = EXIT.ok;
  const program = new Command('switchboard')
    .description('Operate a running Switchboard server (`switchboard serve --help` starts one).')
    .option('--url <url>', 'the server (default: SWITCHBOARD_URL, else http://127.0.0.1:8787)')
    .option('--token <token>', 'a bearer token (default: SWITCHBOARD_TOKEN)')
    .option('--json', 'print JSON for scripts (JSON lines for tail) instead of tables')
    .showSuggestionAfterError(true)
    .exitOverride();
  program.addHelpText(
    'after',
    '\nExit codes: 0 done, 1 the server refused (not found, conflict, …) or a waited-for task did not complete, 2 usage error, 3 server unreachable.',
  );
  // Each action gets its context from the options of the whole command line.
  const action =
    (run: Run) =>
    async (...args: unknown[]) => {
      const command = args.at(-1) as Command;
      const flags = command.optsWithGlobals<{ url?: string; token?: string; json?: boolean }>();
      const target = resolveTarget(flags, env);
      const ctx = { client: connect(target), target, out: processOutput(flags.json === true) };
      try {
        code = await (run as (ctx: OpsContext, ...rest: unknown[]) => Promise<number>)(
          ctx,
          ...args.slice(0, -1),
        );
      } catch (err) {
        throw err instanceof OpsError ? err : explain(err, target);
      }
    };

  // The commands whose only input is an argument or none.
  const simple: [name: string, argument: string | undefined, description: string, run: Run][] = [
    [
      'agents',
      undefined,
      'list the agents, in-process and remote, with state and load',
      listAgents,
    ],
    ['task', '<id>', 'show one task: status, attempts, agent, error, result, times', showTask],
    [
      'dead-letters',
      undefined,
      'list the dead tasks, oldest first, with their last error',
      listDeadLetters,
    ],
    ['replay', '<id...>', 'queue dead tasks again, attempts starting over', replayDeadLetters],
    ['cancel', '<id...>', 'cancel tasks that have not ended', cancelTasks],
    ['stats', undefined, 'agents, queue depth, task counts, throughput, latency', showStats],
  ];
  for (const [name, argument, description, run] of simple) {
    const command = program.command(name).description(description);
    if (argument !== undefined) command.argument(argument);
    command.action(action(run));
  }
  program
    .command('tasks')
    .description('list tasks, newest first')
    .addOption(new Option('--status <status>', 'only tasks in this status').choices(STATUSES))
    .option('--capability <name>', 'only tasks of this capability')
    .option('--key <idempotency-key>', 'the task submitted with this idempotency key')
    .option('--limit <n>', 'at most this many (1 to 1000, default 50)', integer(1, 1000))
    .option('--cursor <cursor>', 'go on from where the previous page ended')
    .action(
      action((ctx, o: Record<string, string | number | undefined>) =>
        listTasks(ctx, {
          ...(o.status === undefined ? {} : { status: o.status as 'queued' }),
          ...(o.capability === undefined ? {} : { capability: String(o.capability) }),
          ...(o.key === undefined ? {} : { idempotencyKey: String(o.key) }),
          ...(o.limit === undefined ? {} : { limit: Number(o.limit) }),
          ...(o.cursor === undefined ? {} : { cursor: String(o.cursor) }),
        }),
      ),
    );
  program
    .command('tail')
    .description('print live events until Ctrl-C (topics: patterns such as task.* or agent.failed)')
    .argument('[topics...]')
    .option('--count <n>', 'exit after this many events', integer(1, Number.MAX_SAFE_INTEGER))
    .action(action(tail));
  program
    .command('submit')
    .description('queue a task (payload-json: any JSON value)')
    .argument('<capability>')
    .argument('[payload-json]')
    .addOption(new Option('--priority <priority>', 'its priority').choices(PRIORITIES))
    .option('--key <idempotency-key>', 'an idempotency key: a repeat answers the first task')
    .option('--wait', 'wait until the task ends and print it (exit 1 unless it completed)')
    .action(action(submitTask));

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return usageExit(err, program, argv);
    if (err instanceof OpsError) {
      process.stderr.write(`switchboard: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

/**
 * The exit code of an error commander reported (it printed the error already): 0 for help,
 * else 2, after a line naming what is known (the commands, or the command's options).
 */
function usageExit(err: CommanderError, program: Command, argv: readonly string[]): number {
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') return EXIT.ok;
  if (err.code === 'commander.unknownCommand') {
    process.stderr.write(`known commands: serve, ${OPS_COMMANDS.join(', ')}\n`);
  } else if (err.code === 'commander.unknownOption') {
    const command = program.commands.find((c) => c.name() === argv[0]);
    const options = [...(command?.options ?? []), ...program.options].map((o) => o.long);
    process.stderr.write(
      `known options${command ? ` of ${command.name()}` : ''}: ${options.join(', ')}\n`,
    );
  }
  return EXIT.usage;
}
