import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { LUA_DIR, SCRIPTS, type ScriptName } from '@inorder/shared';
import { check } from '../support/lua-headers.js';

// The rules are written out at the top of ../support/lua-headers.ts.
const luaDir = fileURLToPath(LUA_DIR);

describe('Lua script headers', () => {
  const files = readdirSync(luaDir)
    .filter((f) => f.endsWith('.lua'))
    .sort();
  const registered = new Map<string, ScriptName>((Object.keys(SCRIPTS) as ScriptName[]).map((name) => [SCRIPTS[name].file, name]));

  it('registers every script in shared/lua in SCRIPTS, and nothing else', () => {
    expect(files).to.have.length.greaterThan(0);
    expect([...registered.keys()].sort()).to.deep.equal(files);
  });

  for (const file of files) {
    it(`${file}: header, body and the registered keys agree`, () => {
      const name = registered.get(file);
      const source = readFileSync(new URL(file, LUA_DIR), 'utf8');
      expect(check(source, name && { label: `SCRIPTS.${name}`, keys: SCRIPTS[name].keys })).to.deep.equal([]);
    });
  }

  describe('the checker itself', () => {
    // Each case breaks one rule in an otherwise valid script; the checker must notice.
    const valid = [
      '--[[',
      '  Example.',
      '',
      '  KEYS[1] input    list   entries',
      '  KEYS[2] meta     hash   counters',
      '  ARGV[1] count    how many',
      '  ARGV[2] n        number of tokens',
      '  ARGV[3 .. 2+n]   tokens',
      '  ARGV[3+n ..]     pairs: seq, body',
      '',
      '  Returns the count.',
      ']]',
      'local rcall = redis.call',
      'local input, meta = KEYS[1], KEYS[2]',
      'local n = tonumber(ARGV[2])',
      'for i = 3, 2 + n do rcall("LPUSH", input, ARGV[i]) end',
      'for i = 3 + n, #ARGV, 2 do',
      '  rcall("HSET", meta, ARGV[i], ARGV[i + 1])',
      'end',
      'return tonumber(ARGV[1])',
      '',
    ].join('\n');

    const problemsOf = (source: string, keys: readonly string[] = ['input', 'meta']): string[] => check(source, { label: 'example', keys });

    it('accepts the valid example', () => {
      expect(problemsOf(valid)).to.deep.equal([]);
    });

    const broken: Array<[string, string, string, RegExp]> = [
      [
        'a documented ARGV that is never read',
        '  ARGV[2] n        number of tokens',
        '  ARGV[2] n        number of tokens\n  ARGV[9] extra    unused',
        /ARGV\[9\] documented but not used/,
      ],
      [
        'a fixed ARGV read but not documented',
        'return tonumber(ARGV[1])',
        'return tonumber(ARGV[1]) + tonumber(ARGV[7])',
        /ARGV\[7\] used but not documented/,
      ],
      [
        'a KEYS read but not documented',
        'local input, meta = KEYS[1], KEYS[2]',
        'local input, meta, extra = KEYS[1], KEYS[2], KEYS[3]',
        /KEYS\[3\] used but not documented/,
      ],
      [
        'a documented KEYS never used',
        '  KEYS[2] meta     hash   counters',
        '  KEYS[2] meta     hash   counters\n  KEYS[3] dead     list   unused',
        /KEYS\[3\] documented but not used/,
      ],
      [
        'a key bound to a local of another name',
        'local input, meta = KEYS[1], KEYS[2]',
        'local input, stats = KEYS[1], KEYS[2]',
        /documented as "meta" but bound to local "stats"/,
      ],
      [
        'a key without its Redis type',
        '  KEYS[2] meta     hash   counters',
        '  KEYS[2] meta     counters of things',
        /KEYS\[2\] meta has no Redis type/,
      ],
      [
        'a hole in the documented fixed ARGV',
        '  ARGV[2] n        number of tokens',
        '  ARGV[2] n        number of tokens\n  ARGV[4] x        skipped one',
        /fixed ARGV are not 1\.\.3/,
      ],
      [
        'a documented range nobody reads',
        '  ARGV[3+n ..]     pairs: seq, body',
        '  ARGV[3+n ..]     pairs: seq, body\n  ARGV[9 ..]       more',
        /ARGV\[9 \.\.\] documented, but no loop starts reading there/,
      ],
      [
        'a loop reading past no documented range',
        'for i = 3 + n, #ARGV, 2 do',
        'for i = 3 + m, #ARGV, 2 do',
        /ARGV read from 3\+m on in a loop, but no documented ARGV range covers it/,
      ],
      [
        'a numeric range that does not follow the fixed ARGV',
        '  ARGV[3 .. 2+n]   tokens',
        '  ARGV[4 .. 2+n]   tokens',
        /first ARGV range starts at 4/,
      ],
      [
        'a body that does not start with rcall',
        'local rcall = redis.call\n',
        'local x = 1\nlocal rcall = redis.call\n',
        /body starts with "local x = 1"/,
      ],
      ['a direct redis.call', 'return tonumber(ARGV[1])', 'redis.call("PING")\nreturn tonumber(ARGV[1])', /other than through rcall/],
      ['a missing Returns', '  Returns the count.', '  Gives the count.', /does not document what it returns/],
      [
        'ARGV indexed outside a loop',
        'return tonumber(ARGV[1])',
        'local x = n\nreturn tonumber(ARGV[x])',
        /not indexed by an enclosing numeric for loop/,
      ],
      ['ARGV passed whole', 'return tonumber(ARGV[1])', 'return tonumber(ARGV[1]) + #unpack(ARGV)', /ARGV used other than by index/],
      [
        'KEYS indexed by a variable',
        'local input, meta = KEYS[1], KEYS[2]',
        'local input, meta = KEYS[1], KEYS[2]\nlocal k = KEYS[n]',
        /KEYS used other than with a literal index/,
      ],
    ];
    it('notices registered keys that differ in number from the highest KEYS used', () => {
      expect(problemsOf(valid, ['input', 'meta', 'state']).join('\n')).to.match(
        /example\.keys names 3 keys, the highest KEYS index used is 2/,
      );
    });

    it('notices registered keys named or ordered other than the header', () => {
      expect(problemsOf(valid, ['meta', 'input']).join('\n')).to.match(/example\.keys\[0\] is "meta", the header's KEYS\[1\] is "input"/);
    });

    it('accepts a variadic read linear in the loop variable (4 + 2 * i from i = 1 is ARGV[6 ..])', () => {
      const pairs = valid
        .replace(
          '  ARGV[3 .. 2+n]   tokens\n  ARGV[3+n ..]     pairs: seq, body',
          '  ARGV[3]          read with 4 and 5\n  ARGV[4]          more\n  ARGV[5]          more\n  ARGV[6 ..]       pairs',
        )
        .replace(
          'for i = 3, 2 + n do rcall("LPUSH", input, ARGV[i]) end\nfor i = 3 + n, #ARGV, 2 do\n  rcall("HSET", meta, ARGV[i], ARGV[i + 1])\nend',
          'local x = ARGV[3] .. ARGV[4] .. ARGV[5]\nfor i = 1, (#ARGV - 5) / 2 do\n  rcall("HSET", meta, ARGV[4 + 2 * i], ARGV[5 + 2 * i])\nend',
        );
      expect(problemsOf(pairs)).to.deep.equal([]);
      expect(problemsOf(pairs.replace('ARGV[4 + 2 * i]', 'ARGV[2 + 2 * i]')).join('\n')).to.match(/ARGV read from 4 on in a loop/);
    });

    for (const [what, from, to, expected] of broken) {
      it(`notices ${what}`, () => {
        expect(valid.includes(from), `example lacks: ${from}`).to.equal(true);
        expect(problemsOf(valid.replace(from, to)).join('\n')).to.match(expected);
      });
    }

    it('ignores ARGV and KEYS mentioned in comments and strings', () => {
      const commented = valid.replace(
        'return tonumber(ARGV[1])',
        '-- ARGV[8] and KEYS[9] in a comment\nlocal s = "ARGV[7]"\nreturn tonumber(ARGV[1])',
      );
      expect(problemsOf(commented)).to.deep.equal([]);
    });
  });
});
