import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runScript } from './support/run-script.js';

const SCRIPTS = ['demo', 'burst', 'soak', 'chaos', 'verify', 'stats', 'bench', 'dlq', 'stack'];

/** The flags a script declares: `name: { type: 'string' | 'boolean' }` in its options, plus --json. */
function declaredFlags(name: string): Map<string, 'string' | 'boolean'> {
  const source = readFileSync(join(ROOT, 'scripts', 'src', `${name}.ts`), 'utf8');
  const flags = new Map<string, 'string' | 'boolean'>([['json', 'boolean']]);
  for (const m of source.matchAll(/^\s+'?([a-z][a-z0-9-]*)'?: \{ type: '(string|boolean)'/gm)) flags.set(m[1]!, m[2] as 'string' | 'boolean');
  return flags;
}

/** The flags the help text lists at the start of a line: "--name VALUE" takes a value, "--name" alone does not. */
function documentedFlags(help: string): Map<string, 'string' | 'boolean'> {
  const flags = new Map<string, 'string' | 'boolean'>();
  for (const line of help.split('\n')) {
    const m = /^\s+(--[a-z][a-z0-9-]*)(?: ([A-Z]+)\b)?(?:, (--[a-z][a-z0-9-]*)(?: ([A-Z]+)\b)?)?/.exec(line);
    if (!m) continue;
    flags.set(m[1]!.slice(2), m[2] ? 'string' : 'boolean');
    if (m[3]) flags.set(m[3].slice(2), m[4] ? 'string' : 'boolean');
  }
  return flags;
}

describe('--help of every script', function () {
  this.timeout(60_000);
  const help = new Map<string, { code: number | null; stdout: string }>();

  before(async function () {
    await Promise.all(SCRIPTS.map(async (name) => help.set(name, await runScript(name, ['--help']))));
  });

  for (const name of SCRIPTS) {
    it(`${name}: prints its usage and lists every flag it takes, those that take a value with one`, function () {
      const h = help.get(name)!;
      expect(h.code).to.equal(0);
      expect(h.stdout).to.match(new RegExp(`^npm run ${name} --`));
      const documented = documentedFlags(h.stdout);
      const declared = declaredFlags(name);
      expect([...documented.keys()].sort(), 'flags in --help').to.deep.equal([...declared.keys()].sort());
      for (const [flag, type] of declared) expect(documented.get(flag), `--${flag} takes ${type === 'string' ? 'a value' : 'no value'}`).to.equal(type);
    });
  }
});
