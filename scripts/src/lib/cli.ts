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

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CliSpec<O extends Options> {
  /** the script's name, for messages */
  name: string;
  /** usage text printed by --help and after a usage error */
  usage: string;
  options: O;
}

const COMMON = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies Options;

/** Parsed flag values: strings and booleans by flag name, plus --json. */
export type Flags<O extends Options> = { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string } & { json: boolean };

/** Parses the flags; prints the usage and exits on --help; throws UsageError on an unknown flag. */
export function parseFlags<O extends Options>(spec: CliSpec<O>, argv: string[] = process.argv.slice(2)): Flags<O> {
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
  if (!Number.isInteger(value) || value < min) throw new UsageError(`--${name} must be a whole number of at least ${min}, got ${String(raw)}`);
  return value;
}

/** A number from a string flag (or the default), between min and max. */
export function numberFlag(values: Record<string, unknown>, name: string, fallback: number, min = 0, max = Infinity): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) throw new UsageError(`--${name} must be a number from ${min} to ${max}, got ${String(raw)}`);
  return value;
}

export function stringFlag(values: Record<string, unknown>, name: string): string | undefined {
  const raw = values[name];
  return typeof raw === 'string' && raw !== '' ? raw : undefined;
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

// ---------------------------------------------------------------------------------------------
// formatting

export function formatInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** Two aligned columns: label, value. */
export function renderPairs(rows: Array<[string, string]>, indent = '  '): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${indent}${k.padEnd(width)}  ${v}`).join('\n');
}
