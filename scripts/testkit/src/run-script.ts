import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './service-process.js';

/** The workspaces under scripts/ whose src/<name>.ts files are tools run by `npm run <name>`. */
export const TOOL_PACKAGES = ['tools', 'lab'] as const;

/** The TypeScript source of a tool, relative to the repository root: scripts/tools/src/verify.ts, scripts/lab/src/burst.ts. */
export function toolSource(name: string): string {
  for (const pkg of TOOL_PACKAGES) {
    const file = join('scripts', pkg, 'src', `${name}.ts`);
    if (existsSync(join(ROOT, file))) return file;
  }
  throw new Error(`no tool named ${name} in scripts/{${TOOL_PACKAGES.join(',')}}/src`);
}

export interface ScriptRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** the last stdout line, parsed (undefined when it is not JSON) */
  json: Record<string, unknown> | undefined;
}

/** Runs a tool's CLI from its TypeScript source, as `npm run <name>` would run its build. */
export function runScript(
  name: string,
  args: string[],
  options: { env?: Record<string, string>; onStdout?: (text: string, child: ChildProcess) => void } = {},
): Promise<ScriptRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@inorder/source', toolSource(name), ...args], {
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
