/*
 * Keeps every Lua header true. The rules:
 * - The file opens with a `--[[ ]]` header; the body starts with `local rcall = redis.call` and
 *   calls Redis only through it.
 * - Header entries are the lines that start, at the indentation of `KEYS[1]`, with `KEYS[i]` or
 *   `ARGV[...]` (deeper lines are prose). `KEYS[i] name type` documents one key with its Redis
 *   type; `ARGV[i]` one fixed argument; `ARGV[a .. b]` / `ARGV[a ..]` a variadic range starting
 *   at `a` (a number, or an expression such as `3+n`).
 * - KEYS: the body uses literal indices only; documented and used sets are equal and run 1..m
 *   without holes; a key bound to a local carries the header's name; SCRIPTS[name].keys names
 *   the m keys as the header does, in its order.
 * - ARGV: the literal indices used equal the documented fixed ones, which run 1..k without
 *   holes; a variable index is allowed only inside a numeric `for` over that variable and must
 *   be linear in it (`i`, `i + 2`, `4 + 2 * i`). Its first index (the loop's start put in) must
 *   fall in a documented range, and each range must be where some loop starts reading; the
 *   lowest numeric range starts at k + 1. `#ARGV` is allowed; any other use of ARGV is not.
 */

const REDIS_TYPES = ['string', 'list', 'hash', 'set', 'zset', 'stream'];

interface Header {
  keys: Map<number, { name: string; type: string }>;
  argvFixed: Set<number>;
  /** normalised range starts: '3', '3+n' */
  argvRanges: string[];
  text: string;
}

interface Parsed {
  header: Header;
  body: string;
  problems: string[];
}

const norm = (expr: string): string => expr.replace(/\s+/g, '');

function parseHeader(text: string, problems: string[]): Header {
  const lines = text.split('\n');
  const first = lines.find((l) => /^\s*KEYS\[1\]/.test(l));
  const header: Header = { keys: new Map(), argvFixed: new Set(), argvRanges: [], text };
  if (!first) {
    problems.push('header documents no KEYS[1] (every script declares its keys)');
    return header;
  }
  const indent = first.length - first.trimStart().length;
  for (const line of lines) {
    if (line.length - line.trimStart().length !== indent) continue;
    const key = /^\s*KEYS\[([^\]]*)\]\s+(\S+)\s+(\S+)/.exec(line);
    if (key) {
      const index = Number(key[1]);
      if (!Number.isInteger(index) || index < 1) problems.push(`header: KEYS[${key[1]}] is not a fixed positive index`);
      else if (header.keys.has(index)) problems.push(`header: KEYS[${index}] documented twice`);
      else header.keys.set(index, { name: key[2]!, type: key[3]! });
      if (!REDIS_TYPES.includes(key[3]!)) problems.push(`header: KEYS[${key[1]}] ${key[2]} has no Redis type (found "${key[3]}")`);
      continue;
    }
    if (/^\s*KEYS\[/.test(line)) {
      problems.push(`header: cannot read "${line.trim()}"`);
      continue;
    }
    const argv = /^\s*ARGV\[([^\]]*)\]/.exec(line);
    if (!argv) continue;
    const inside = argv[1]!;
    if (/^\d+$/.test(inside)) {
      const index = Number(inside);
      if (header.argvFixed.has(index)) problems.push(`header: ARGV[${index}] documented twice`);
      header.argvFixed.add(index);
    } else if (inside.includes('..')) {
      const start = norm(inside.slice(0, inside.indexOf('..')));
      if (start === '') problems.push(`header: ARGV[${inside}] has no start`);
      else header.argvRanges.push(start);
    } else {
      problems.push(`header: cannot read ARGV[${inside}]`);
    }
  }
  return header;
}

/** Drops comments and blanks out string literals, keeping line structure. */
function code(body: string): string {
  let out = '';
  let i = 0;
  while (i < body.length) {
    const ch = body[i]!;
    if (body.startsWith('--[[', i)) {
      const end = body.indexOf(']]', i);
      const comment = body.slice(i, end === -1 ? body.length : end + 2);
      out += comment.replace(/[^\n]/g, ' ');
      i += comment.length;
    } else if (body.startsWith('--', i)) {
      while (i < body.length && body[i] !== '\n') i++;
    } else if (ch === '"' || ch === "'") {
      out += ch;
      i++;
      while (i < body.length && body[i] !== ch) {
        if (body[i] === '\\') i++;
        out += ' ';
        i++;
      }
      out += ch;
      i++;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

/** `a + b * v + c` with integer constants -> value at v = `at`, or undefined when not linear. */
function linearAt(expr: string, variable: string, at: number): number | undefined {
  const terms = norm(expr).split('+');
  let total = 0;
  let sawVariable = false;
  for (const term of terms) {
    if (/^\d+$/.test(term)) {
      total += Number(term);
      continue;
    }
    const factor = coefficientOf(term, variable);
    if (factor === undefined) return undefined;
    total += factor * at;
    sawVariable = true;
  }
  return sawVariable ? total : undefined;
}

/** `v` -> 1, `3*v` or `v*3` -> 3; undefined for a term that is not a multiple of `variable`. */
function coefficientOf(term: string, variable: string): number | undefined {
  if (term === variable) return 1;
  const left = /^(\d+)\*(\w+)$/.exec(term);
  if (left && left[2] === variable) return Number(left[1]);
  const right = /^(\w+)\*(\d+)$/.exec(term);
  if (right && right[1] === variable) return Number(right[2]);
  return undefined;
}

interface Loop {
  variable: string;
  start: string;
  line: number;
  indent: number;
  /** last line of the loop's block */
  end: number;
}

function loops(lines: string[]): Loop[] {
  const found: Loop[] = [];
  lines.forEach((line, n) => {
    const m = /\bfor\s+(\w+)\s*=\s*([^,]+),/.exec(line);
    if (!m) return;
    const indent = line.length - line.trimStart().length;
    let end = n;
    if (!/\bdo\b.*\bend\b/.test(line)) {
      end = lines.length - 1;
      for (let j = n + 1; j < lines.length; j++) {
        const l = lines[j]!;
        if (l.length - l.trimStart().length === indent && /^\s*end\b/.test(l)) {
          end = j;
          break;
        }
      }
    }
    found.push({ variable: m[1]!, start: norm(m[2]!), line: n, indent, end });
  });
  return found;
}

function parse(source: string): Parsed {
  const problems: string[] = [];
  const open = /^--\[\[\n([\s\S]*?)\n\]\]\n/.exec(source);
  if (!open) {
    return { header: parseHeader('', problems), body: source, problems: ['file does not open with a --[[ ]] header'] };
  }
  const header = parseHeader(open[1]!, problems);
  const body = source.slice(open[0].length);
  return { header, body, problems };
}

interface Use {
  keys: Set<number>;
  argvFixed: Set<number>;
  /** first index a variadic read reaches: a number, or a symbolic loop start such as '3+n' */
  argvFirst: Array<number | string>;
  /** local name -> key index, for `local a, b = KEYS[1], KEYS[2]` */
  keyLocals: Map<number, string>;
}

function uses(body: string, problems: string[]): Use {
  const clean = code(body);
  const lines = clean.split('\n');
  const use: Use = { keys: new Set(), argvFixed: new Set(), argvFirst: [], keyLocals: new Map() };

  for (const m of clean.matchAll(/\bKEYS\b(\s*\[\s*([^\]]*)\])?/g)) {
    if (!m[1] || !/^\d+$/.test(m[2]!.trim())) {
      problems.push(`body: KEYS used other than with a literal index: "${m[0]}"`);
      continue;
    }
    use.keys.add(Number(m[2]!.trim()));
  }

  for (const m of clean.matchAll(/local\s+([\w\s,]+?)\s*=\s*((?:KEYS\[\d+\]\s*,\s*)*KEYS\[\d+\])/g)) {
    const names = m[1]!.split(',').map((s) => s.trim());
    const indices = [...m[2]!.matchAll(/KEYS\[(\d+)\]/g)].map((k) => Number(k[1]));
    names.forEach((name, i) => {
      if (indices[i] !== undefined) use.keyLocals.set(indices[i], name);
    });
  }

  const allLoops = loops(lines);
  lines.forEach((line, n) => {
    for (const m of line.matchAll(/(#?)\bARGV\b(\s*\[)?/g)) {
      if (m[1] === '#') continue;
      if (!m[2]) {
        problems.push(`body line ${n + 1}: ARGV used other than by index or #ARGV`);
        continue;
      }
      const open = (m.index ?? 0) + m[0].length;
      let depth = 1;
      let j = open;
      while (j < line.length && depth > 0) {
        if (line[j] === '[') depth++;
        if (line[j] === ']') depth--;
        j++;
      }
      const expr = norm(line.slice(open, j - 1));
      if (/^\d+$/.test(expr)) {
        use.argvFixed.add(Number(expr));
        continue;
      }
      const enclosing = allLoops
        .filter((l) => l.line <= n && n <= l.end && new RegExp(`\\b${l.variable}\\b`).test(expr))
        .sort((a, b) => b.line - a.line)[0];
      if (!enclosing) {
        problems.push(`body line ${n + 1}: ARGV[${expr}] is not indexed by an enclosing numeric for loop`);
        continue;
      }
      if (/^\d+$/.test(enclosing.start)) {
        const first = linearAt(expr, enclosing.variable, Number(enclosing.start));
        if (first === undefined) problems.push(`body line ${n + 1}: ARGV[${expr}] is not linear in ${enclosing.variable}`);
        else use.argvFirst.push(first);
      } else {
        // A symbolic start (e.g. `3 + n`): the read must be the variable plus a constant.
        const offset = linearAt(expr, enclosing.variable, 0);
        if (offset === undefined || expr.includes('*')) {
          problems.push(
            `body line ${n + 1}: ARGV[${expr}] under a loop starting at ${enclosing.start} must be ${enclosing.variable} + constant`,
          );
        } else use.argvFirst.push(offset === 0 ? enclosing.start : `${enclosing.start}+${offset}`);
      }
    }
  });
  return use;
}

function contiguous(indices: Iterable<number>): boolean {
  const sorted = [...indices].sort((a, b) => a - b);
  return sorted.every((v, i) => v === i + 1);
}

/**
 * Every problem with one script's header against its body and the keys it is registered with
 * (by name, in order) (`label` names the registration in messages).
 */
export function check(source: string, registration: { label: string; keys: readonly string[] } | undefined): string[] {
  const { header, body, problems } = parse(source);
  const firstLine = body.split('\n').find((l) => l.trim() !== '');
  if (firstLine !== 'local rcall = redis.call') problems.push(`body starts with "${firstLine ?? ''}", not "local rcall = redis.call"`);
  if ((code(body).match(/\bredis\s*\.\s*p?call\b/g) ?? []).length !== 1) problems.push('body calls Redis other than through rcall');
  if (!/\bReturns\b/.test(header.text)) problems.push('header does not document what it returns');

  const use = uses(body, problems);
  const documentedKeys = [...header.keys.keys()].sort((a, b) => a - b);
  const usedKeys = [...use.keys].sort((a, b) => a - b);
  if (usedKeys.length === 0) problems.push('body uses no KEYS');
  for (const k of usedKeys) if (!header.keys.has(k)) problems.push(`KEYS[${k}] used but not documented`);
  for (const k of documentedKeys) if (!use.keys.has(k)) problems.push(`KEYS[${k}] documented but not used`);
  if (!contiguous(documentedKeys)) problems.push(`documented KEYS are not 1..${documentedKeys.length}: ${documentedKeys.join(',')}`);
  for (const [index, local] of use.keyLocals) {
    const doc = header.keys.get(index);
    if (doc && doc.name !== local) problems.push(`KEYS[${index}] is documented as "${doc.name}" but bound to local "${local}"`);
  }
  const maxKey = Math.max(0, ...usedKeys);
  if (registration && registration.keys.length !== maxKey) {
    problems.push(`${registration.label}.keys names ${registration.keys.length} keys, the highest KEYS index used is ${maxKey}`);
  }
  registration?.keys.forEach((name, i) => {
    const doc = header.keys.get(i + 1);
    if (doc && doc.name !== name)
      problems.push(`${registration.label}.keys[${i}] is "${name}", the header's KEYS[${i + 1}] is "${doc.name}"`);
  });

  const fixed = [...header.argvFixed].sort((a, b) => a - b);
  for (const a of use.argvFixed) if (!header.argvFixed.has(a)) problems.push(`ARGV[${a}] used but not documented`);
  for (const a of fixed) if (!use.argvFixed.has(a)) problems.push(`ARGV[${a}] documented but not used`);
  if (!contiguous(fixed)) problems.push(`documented fixed ARGV are not 1..${fixed.length}: ${fixed.join(',')}`);
  const numericRanges = header.argvRanges
    .filter((r) => /^\d+$/.test(r))
    .map(Number)
    .sort((a, b) => a - b);
  if (numericRanges.length > 0 && numericRanges[0] !== fixed.length + 1) {
    problems.push(`the first ARGV range starts at ${numericRanges[0]}, not right after the fixed ARGV (${fixed.length + 1})`);
  }
  for (const first of use.argvFirst) {
    const covered =
      typeof first === 'number'
        ? numericRanges.some((start) => start <= first)
        : header.argvRanges.includes(first.replace(/\+\d+$/, '')) || header.argvRanges.includes(first);
    if (!covered) problems.push(`ARGV read from ${first} on in a loop, but no documented ARGV range covers it`);
  }
  for (const range of header.argvRanges) {
    const read = use.argvFirst.some((first) => String(first) === range);
    if (!read) problems.push(`ARGV[${range} ..] documented, but no loop starts reading there`);
  }
  return problems;
}
