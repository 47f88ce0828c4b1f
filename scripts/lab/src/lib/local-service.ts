/**
 * One service of the lab's local topology (processor, sequencer or HTTP ingest) as a child
 * process in a process group of its own, that can be killed, paused, resumed and restarted under
 * the same name; its JSON log lines are kept.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, exitOf, isRunning as alive, killOnExit, terminate, waitFor, type ExitInfo } from '@inorder/testkit';

export type { ExitInfo } from '@inorder/testkit';

/** True when this module runs from TypeScript sources (tsx) rather than a build. */
export const RUNNING_FROM_SOURCE = import.meta.url.endsWith('.ts');

export type ServiceRole = 'processor' | 'sequencer' | 'ingest';

export interface ServiceHandle {
  /** e.g. "processor-1" */
  readonly name: string;
  readonly role: ServiceRole;
  /** the current process (changes on restart) */
  readonly pid: number;
  /** the instance id the service logs (owner of its claims or lease); undefined until logged */
  readonly instance: string | undefined;
  /** its JSON log lines (stdout and stderr), the most recent few thousand */
  readonly logs: string[];
  /** resolves when the current process exits */
  readonly exited: Promise<ExitInfo>;
  readonly running: boolean;
  /** sends a signal to the current process (SIGKILL, SIGSTOP, SIGCONT, SIGTERM ...) */
  kill(signal?: NodeJS.Signals): void;
  /** stops the current process if it runs (SIGTERM, then SIGKILL after a grace) and starts a new one; resolves when it is ready */
  restart(): Promise<void>;
  /** resolves when the current process has logged that it started */
  ready(timeoutMs?: number): Promise<void>;
  /** SIGTERM, and SIGKILL if it has not exited within `graceMs` */
  stop(graceMs?: number): Promise<ExitInfo>;
}

const MAX_LOG_LINES = 5000;
const STARTED = /"message":"(processor started|sequencer started|[^"]*listening[^"]*)"/i;

/** How a service is run: the build when there is one (and the caller is not on sources), else tsx. */
export function serviceCommand(role: ServiceRole, fromSource = RUNNING_FROM_SOURCE): string[] {
  const dist = join(ROOT, 'services', role, 'dist', 'main.js');
  const sharedDist = join(ROOT, 'shared', 'dist', 'index.js');
  if (!fromSource && existsSync(dist) && existsSync(sharedDist)) return [dist];
  return ['--import', 'tsx', '--conditions=@inorder/source', join(ROOT, 'services', role, 'src', 'main.ts')];
}

/** True when the service can be started (its build or its sources exist). */
export function serviceAvailable(role: ServiceRole): boolean {
  return existsSync(join(ROOT, 'services', role, 'dist', 'main.js')) || existsSync(join(ROOT, 'services', role, 'src', 'main.ts'));
}

/**
 * One service of the local topology, run from its build (or its sources) in a process group of
 * its own, and restartable under the same name. The testkit's ServiceProcess is the tests' simpler
 * one-shot kind, always on sources.
 */
export class LocalService implements ServiceHandle {
  readonly logs: string[] = [];
  private child!: ChildProcess;
  private exit!: Promise<ExitInfo>;
  private started = false;
  private instanceId: string | undefined;
  private partial = '';

  constructor(
    readonly name: string,
    readonly role: ServiceRole,
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv,
    /** an extra readiness check (the ingest: its port accepts connections) */
    private readonly probe?: () => Promise<boolean>,
  ) {
    this.spawn();
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get instance(): string | undefined {
    return this.instanceId;
  }

  get exited(): Promise<ExitInfo> {
    return this.exit;
  }

  get running(): boolean {
    return alive(this.child);
  }

  private spawn(): void {
    this.started = false;
    this.instanceId = undefined;
    this.partial = '';
    // Own process group: a Ctrl-C in the terminal reaches the script, which stops services in order.
    const child = spawn(process.execPath, this.args, { cwd: ROOT, env: this.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    killOnExit(child);
    this.child = child;
    this.exit = exitOf(child);
    child.stdout.on('data', (chunk: Buffer) => this.collect(chunk));
    child.stderr.on('data', (chunk: Buffer) => this.collect(chunk));
  }

  private collect(chunk: Buffer): void {
    const lines = (this.partial + chunk.toString()).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line) continue;
      this.logs.push(line);
      if (this.instanceId === undefined && line.includes('"instance"')) {
        try {
          const parsed = JSON.parse(line) as { instance?: unknown };
          if (typeof parsed.instance === 'string') this.instanceId = parsed.instance;
        } catch {
          // not a JSON line
        }
      }
      if (!this.started && STARTED.test(line)) this.started = true;
    }
    if (this.logs.length > MAX_LOG_LINES) this.logs.splice(0, this.logs.length - MAX_LOG_LINES);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (alive(this.child)) this.child.kill(signal);
  }

  async ready(timeoutMs = 30_000): Promise<void> {
    const state = await waitFor(
      async () => {
        if (this.started) return 'started';
        if (!alive(this.child)) return 'exited';
        if (this.probe && (await this.probe())) this.started = true;
        return this.started && 'started';
      },
      { timeoutMs, message: `${this.name} did not log that it started` },
    );
    if (state === 'exited') throw new Error(`${this.name} exited before it started:\n${this.logs.slice(-10).join('\n')}`);
  }

  async restart(): Promise<void> {
    await this.stop();
    this.spawn();
    await this.ready();
  }

  stop(graceMs = 10_000): Promise<ExitInfo> {
    return terminate(this.child, graceMs);
  }
}
