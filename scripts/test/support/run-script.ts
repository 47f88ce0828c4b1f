import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ScriptRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** the last stdout line, parsed (undefined when it is not JSON) */
  json: Record<string, unknown> | undefined;
}

/** Runs a script CLI from its TypeScript source, as `npm run <name>` would run its build. */
export function runScript(
  name: string,
  args: string[],
  options: { env?: Record<string, string>; onStdout?: (text: string, child: import('node:child_process').ChildProcess) => void } = {},
): Promise<ScriptRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@inorder/source', `scripts/src/${name}.ts`, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    options.onStdout?.(stdout, child);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    options.onStdout?.(stderr, child);
  });
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(last) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      resolve({ code, signal, stdout, stderr, json });
    });
  });
}
