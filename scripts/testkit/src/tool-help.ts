import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScript, toolSource, type ScriptRun } from './run-script.js';
import { ROOT } from './service-process.js';

export type FlagKind = 'string' | 'boolean';

/**
 * The flags a tool declares: `name: { type: 'string' | 'boolean' }` in its options, the
 * partition flags it spreads in (`...partitionOptions('pipeline', 'redis-url')`, all of them
 * taking a value), the flags of the shared sets it spreads in (`...REPORT_FLAGS`), plus --json.
 */
export function declaredFlags(name: string): Map<string, FlagKind> {
  const source = readFileSync(join(ROOT, toolSource(name)), 'utf8');
  const flags = new Map<string, FlagKind>([['json', 'boolean']]);
  for (const m of source.matchAll(/^\s+'?([a-z][a-z0-9-]*)'?: \{ type: '(string|boolean)'/gm)) flags.set(m[1]!, m[2] as FlagKind);
  for (const m of source.matchAll(/\.\.\.partitionOptions\(([^)]*)\)/g)) {
    for (const flag of m[1]!.matchAll(/'([a-z][a-z0-9-]*)'/g)) flags.set(flag[1]!, 'string');
  }
  for (const m of source.matchAll(/\.\.\.([A-Z][A-Z0-9_]*_FLAGS)\b/g)) {
    for (const [flag, kind] of flagSet(m[1]!)) flags.set(flag, kind);
  }
  return flags;
}

/** Where the tools' shared flag sets (`export const NAME_FLAGS = { ... } as const`) are declared. */
const FLAG_SET_FILES = ['scripts/tools/src/lib/cli.ts', 'scripts/lab/src/lib/flags.ts'];

/** The flags of a shared flag set, read from where it is declared. */
function flagSet(name: string): Map<string, FlagKind> {
  for (const file of FLAG_SET_FILES) {
    const source = readFileSync(join(ROOT, file), 'utf8');
    const block = new RegExp(`export const ${name} = \\{([\\s\\S]*?)\\n\\} as const`).exec(source);
    if (!block) continue;
    return new Map(
      [...block[1]!.matchAll(/^\s+'?([a-z][a-z0-9-]*)'?: \{ type: '(string|boolean)'/gm)].map((m) => [m[1]!, m[2] as FlagKind]),
    );
  }
  throw new Error(`no flag set ${name} in ${FLAG_SET_FILES.join(' or ')}`);
}

/** The flags a help text lists at the start of a line: "--name VALUE" takes a value, "--name" alone does not. */
export function documentedFlags(help: string): Map<string, FlagKind> {
  const flags = new Map<string, FlagKind>();
  for (const line of help.split('\n')) {
    const m = /^\s+(--[a-z][a-z0-9-]*)(?: ([A-Z]+)\b)?(?:, (--[a-z][a-z0-9-]*)(?: ([A-Z]+)\b)?)?/.exec(line);
    if (!m) continue;
    flags.set(m[1]!.slice(2), m[2] ? 'string' : 'boolean');
    if (m[3]) flags.set(m[3].slice(2), m[4] ? 'string' : 'boolean');
  }
  return flags;
}

/** Runs `--help` of each tool once for the calling `describe` (mocha's `before`); read the runs inside tests. */
export function useToolHelp(tools: readonly string[]): ReadonlyMap<string, ScriptRun> {
  const help = new Map<string, ScriptRun>();
  before(async function () {
    this.timeout(60_000);
    await Promise.all(tools.map(async (name) => help.set(name, await runScript(name, ['--help']))));
  });
  return help;
}

/**
 * What is wrong with a tool's `--help`: an exit code other than 0, a usage not starting with
 * `npm run <name> --`, a flag declared and not listed (or listed and not declared), or listed
 * without the value it takes. Empty when nothing is.
 */
export function helpProblems(name: string, run: ScriptRun | undefined): string[] {
  if (!run) return [`--help of ${name} did not run`];
  if (run.code !== 0) return [`--help exited ${run.code}: ${run.stderr}`];
  const problems: string[] = [];
  if (!run.stdout.startsWith(`npm run ${name} --`)) problems.push(`the usage does not start with "npm run ${name} --"`);
  const documented = documentedFlags(run.stdout);
  const declared = declaredFlags(name);
  for (const [flag, kind] of declared) {
    const listed = documented.get(flag);
    if (listed === undefined) problems.push(`--${flag} is not listed`);
    else if (listed !== kind) problems.push(`--${flag} is listed ${listed === 'string' ? 'with' : 'without'} a value`);
  }
  for (const flag of documented.keys()) if (!declared.has(flag)) problems.push(`--${flag} is listed but not declared`);
  return problems;
}
