/**
 * What every script shares: flag parsing (node's util.parseArgs) with --json and --help, a
 * place for human output that keeps stdout's last line for the JSON object, a progress bar on
 * terminals only, and clean-up that runs on success, on failure and on Ctrl-C / SIGTERM.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import cliProgress from 'cli-progress';

/** A bad flag or setting: the script prints it with its usage and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The options of node:util parseArgs: what a tool declares its flags with. */
export type FlagOptions = NonNullable<ParseArgsConfig['options']>;

export interface CliSpec<O extends FlagOptions> {
  /** the script's name, for messages */
  name: string;
  /** usage text printed by --help and after a usage error */
  usage: string;
  options: O;
}

const COMMON = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies FlagOptions;

/** Parsed flag values: strings and booleans by flag name, plus --json. */
export type Flags<O extends FlagOptions> = { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string } & { json: boolean };

/** Parses the flags; prints the usage and exits on --help; throws UsageError on an unknown flag. */
export function parseFlags<O extends FlagOptions>(spec: CliSpec<O>, argv: string[] = process.argv.slice(2)): Flags<O> {
  let parsed: { values: Record<string, string | boolean | Array<string | boolean> | undefined> };
  try {
    parsed = parseArgs({ args: argv, options: { ...COMMON, ...spec.options }, strict: true, allowPositionals: false });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.values.help === true) {
    process.stdout.write(`${spec.usage.trim()}\n`);
    process.exit(0);
  }
  return parsed.values as Flags<O>;
}

/** A whole number from a string flag (or the default), at least `min`. */
export function intFlag(values: Record<string, unknown>, name: string, fallback: number, min = 0): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min)
    throw new UsageError(`--${name} must be a whole number of at least ${min}, got ${JSON.stringify(raw)}`);
  return value;
}

/** A number from a string flag (or the default), between min and max. */
export function numberFlag(values: Record<string, unknown>, name: string, fallback: number, min = 0, max = Infinity): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max)
    throw new UsageError(`--${name} must be a number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return value;
}

export function stringFlag(values: Record<string, unknown>, name: string): string | undefined {
  const raw = values[name];
  return typeof raw === 'string' && raw !== '' ? raw : undefined;
}

// ---------------------------------------------------------------------------------------------
// the partition a tool works on

/** The flags that name a partition in Redis: one definition for every tool that takes them. */
export const PARTITION_FLAGS = {
  pipeline: { type: 'string' },
  partition: { type: 'string' },
  prefix: { type: 'string' },
  'redis-url': { type: 'string' },
} as const satisfies FlagOptions;

export type PartitionFlag = keyof typeof PARTITION_FLAGS;

/** Each flag's usage: its form, and what it means to a tool that reads a partition (verify, stats, dlq). */
const PARTITION_USAGE: Record<PartitionFlag, [string, string]> = {
  pipeline: ['--pipeline NAME', 'pipeline (required)'],
  partition: ['--partition N', 'partition (default 0)'],
  prefix: ['--prefix P', 'key prefix (default KEY_PREFIX or "inorder")'],
  'redis-url': ['--redis-url URL', 'Redis (default REDIS_URL or redis://127.0.0.1:6379)'],
};

/** The options of some partition flags, to spread into a tool's options: `...partitionOptions('pipeline', 'redis-url')`. */
export function partitionOptions<F extends PartitionFlag>(...names: F[]): Pick<typeof PARTITION_FLAGS, F> {
  return Object.fromEntries(names.map((name) => [name, PARTITION_FLAGS[name]])) as Pick<typeof PARTITION_FLAGS, F>;
}

/**
 * A partition flag's line in a usage text, its description starting at `column`; `description`
 * replaces the usual one where the flag means more to the tool (burst, soak: use the services
 * running there).
 */
export function partitionUsage(name: PartitionFlag, description?: string, column = 19): string {
  const [form, usual] = PARTITION_USAGE[name];
  return `${form.padEnd(column)}${description ?? usual}`;
}

/** Several partition flags' usage lines, one per line at the usual indent. */
export function partitionUsages(...names: PartitionFlag[]): string {
  return names.map((name) => partitionUsage(name)).join('\n  ');
}

/** --from SEQ and --to SEQ: the tools that read a range of seqs. */
export const SEQ_RANGE_FLAGS = {
  from: { type: 'string' },
  to: { type: 'string' },
} as const satisfies FlagOptions;

/** The partition a tool reads or changes in Redis, from the partition flags. */
export interface PartitionTarget {
  pipeline: string;
  partition: number;
  prefix: string;
  /** the Redis URL (it may carry a password: print it through redactRedisUrl) */
  url: string;
}

/**
 * Reads the four partition flags: --pipeline (required), --partition (default 0), --prefix
 * (default KEY_PREFIX or "inorder"), --redis-url (default REDIS_URL or redis://127.0.0.1:6379).
 */
export function partitionTarget(values: Record<string, unknown>): PartitionTarget {
  const pipeline = stringFlag(values, 'pipeline');
  if (!pipeline) throw new UsageError('--pipeline is required');
  return {
    pipeline,
    partition: intFlag(values, 'partition', 0, 0),
    prefix: stringFlag(values, 'prefix') ?? process.env.KEY_PREFIX ?? 'inorder',
    url: stringFlag(values, 'redis-url') ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  };
}

/**
 * Where a script writes. Human lines go to stdout, or to stderr under --json so that stdout
 * holds exactly one line: the JSON object, written by `result()`.
 */
export class Output {
  constructor(readonly json: boolean) {}

  /** A progress bar makes sense: stdout is a terminal and no JSON was asked for. */
  get interactive(): boolean {
    return !this.json && process.stdout.isTTY === true;
  }

  line(text = ''): void {
    (this.json ? process.stderr : process.stdout).write(`${text}\n`);
  }

  /** Writes the JSON object as the last line of stdout (only under --json). */
  result(value: unknown): void {
    if (this.json) process.stdout.write(`${JSON.stringify(value)}\n`);
  }

  /** A progress bar on a terminal; on anything else, a no-op. */
  progress(total: number, label: string): Progress {
    if (!this.interactive) return { update() {}, setTotal() {}, stop() {} };
    const bar = new cliProgress.SingleBar(
      {
        format: `  ${label} |{bar}| {percentage}% {value}/{total} {detail}`,
        barCompleteChar: '█',
        barIncompleteChar: '░',
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
        fps: 10,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { detail: '' });
    let stopped = false;
    return {
      update(value, detail = '') {
        if (!stopped) bar.update(value, { detail });
      },
      setTotal(value) {
        if (!stopped) bar.setTotal(value);
      },
      stop() {
        if (stopped) return;
        stopped = true;
        bar.stop();
      },
    };
  }
}

export interface Progress {
  update(value: number, detail?: string): void;
  setTotal(total: number): void;
  stop(): void;
}

/** Clean-up steps, run last-in first-out, once. */
export class Cleanup {
  private readonly steps: Array<{ label: string; run: () => unknown }> = [];
  private running: Promise<void> | undefined;

  add(label: string, run: () => unknown): void {
    this.steps.push({ label, run });
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      while (this.steps.length > 0) {
        const step = this.steps.pop()!;
        try {
          await step.run();
        } catch (error) {
          process.stderr.write(`  clean-up (${step.label}) failed: ${(error as Error).message}\n`);
        }
      }
    })();
    return this.running;
  }
}

/** Thrown by a script whose checks failed: the script exits 1 after its report. */
export class VerificationFailed extends Error {
  override name = 'VerificationFailed';
}

/**
 * Runs a script's main function with its clean-up: on return, on error, and on the first
 * SIGINT or SIGTERM (a second one exits at once). Exit codes: 0 ok, 1 failure, 2 usage error,
 * 130 / 143 interrupted.
 */
export async function runCli(
  spec: { name: string; usage: string; /** exit code after a clean stop on a signal (long-running scripts: 0) */ signalExitCode?: number },
  main: (cleanup: Cleanup) => Promise<void>,
): Promise<void> {
  const cleanup = new Cleanup();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) {
      process.stderr.write(`\n${spec.name}: ${signal} again, exiting now\n`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    interrupted = true;
    process.stderr.write(`\n${spec.name}: ${signal}, stopping everything it started...\n`);
    void cleanup.run().finally(() => process.exit(spec.signalExitCode ?? (signal === 'SIGINT' ? 130 : 143)));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await main(cleanup);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${spec.name}: ${error.message}\n\n${spec.usage.trim()}\n`);
      process.exitCode = 2;
    } else if (error instanceof VerificationFailed) {
      process.stderr.write(`${spec.name}: ${error.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`${spec.name}: ${error instanceof Error ? error.message : String(error)}\n`);
      if (process.env.DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
      process.exitCode = 1;
    }
  } finally {
    if (!interrupted) await cleanup.run();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** What a tool's main function gets: its parsed flags, its output, and its clean-up. */
export interface Tool<O extends FlagOptions> {
  flags: Flags<O>;
  out: Output;
  cleanup: Cleanup;
}

/** runCli with the flags parsed (a bad one: usage and exit 2) and the output made from --json. */
export function runTool<O extends FlagOptions>(
  spec: CliSpec<O> & { signalExitCode?: number },
  main: (tool: Tool<O>) => Promise<void>,
): Promise<void> {
  return runCli(spec, async (cleanup) => {
    const flags = parseFlags(spec);
    await main({ flags, out: new Output(flags.json === true), cleanup });
  });
}
