import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is scripts/testkit/src/service-process.ts, or its build in dist/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A service (processor or sequencer) run as a child process, to be killed, paused, resumed. */
export class ServiceProcess {
  readonly child: ChildProcess;
  readonly logs: string[] = [];
  readonly exited: Promise<number | null>;

  constructor(service: 'processor' | 'sequencer' | 'ingest', env: Record<string, string>) {
    this.child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@inorder/source', `services/${service}/src/main.ts`], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Whole lines only: a chunk may end in the middle of one.
    const collector = (): ((chunk: Buffer) => void) => {
      let partial = '';
      return (chunk) => {
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line) this.logs.push(line);
      };
    };
    this.child.stdout!.on('data', collector());
    this.child.stderr!.on('data', collector());
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  logged(text: string): boolean {
    return this.logs.some((l) => l.includes(text));
  }

  signal(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  async kill(): Promise<void> {
    this.signal('SIGCONT');
    this.signal('SIGKILL');
    await this.exited;
  }
}
