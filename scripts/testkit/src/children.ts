import type { ChildProcess } from 'node:child_process';

/** Child processes still running that were started through the testkit or the lab. */
const children = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Kills `child` (SIGKILL) if this process exits while it still runs: the last resort after an
 * uncaught error or a process.exit, so that no redis-server or service outlives its test run or tool.
 */
export function killOnExit(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of children) {
      try {
        c.kill('SIGCONT');
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/** True while the process has neither exited nor been killed. */
export function isRunning(child: ChildProcess | undefined): boolean {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

/** How a child process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Resolves when the child has exited (at once when it already has). */
export function exitOf(child: ChildProcess): Promise<ExitInfo> {
  if (!isRunning(child)) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Sends SIGTERM (after SIGCONT, in case it is paused), then SIGKILL if it has not exited within `graceMs`. */
export async function terminate(child: ChildProcess, graceMs: number): Promise<ExitInfo> {
  const exited = exitOf(child);
  if (!isRunning(child)) return exited;
  child.kill('SIGCONT');
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (isRunning(child)) child.kill('SIGKILL');
  }, graceMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}
