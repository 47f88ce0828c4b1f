import { RequestError, badRequest, type Issue } from './errors.js';

/**
 * A request body as JSON, refused with a 400 RequestError when it is empty, nested deeper than
 * `maxDepth` arrays and objects (checked by a linear scan before anything recursive sees it:
 * JSON.stringify overflows the stack near 10,000 levels), not valid JSON, or gives a key twice
 * in one object (JSON.parse keeps the last value silently; its reviver cannot see the first).
 */
export function parseJsonBody(text: string, maxDepth: number): unknown {
  if (text.trim() === '')
    throw new RequestError(400, '(body): is empty: send a JSON object or array', [{ field: '(body)', reason: 'is empty' }]);
  if (nestedDeeperThan(text, maxDepth)) {
    throw badRequest([{ field: '(body)', reason: `nests arrays and objects deeper than MAX_DEPTH (${maxDepth})` }]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = `is not valid JSON (${(error as Error).message})`;
    throw badRequest([{ field: '(body)', reason }]);
  }
  const duplicates = duplicateKeys(text);
  if (duplicates.length > 0) throw badRequest(duplicates);
  return value;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/** True when brackets outside strings nest deeper than `max` (the outermost array or object is 1). */
export function nestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    }
  }
  return false;
}

/** An open array or object while scanning; `at` is its place in its parent. */
interface Container {
  parent: Container | undefined;
  at: string | number | undefined;
  /** keys seen so far (objects), undefined for arrays */
  keys: Set<string> | undefined;
  /** the current key (objects) */
  key: string;
  /** the current element (arrays) */
  index: number;
  /** an object's next string is a key */
  expectKey: boolean;
}

/**
 * Every key given twice in one object, as issues naming its path. `text` must be valid JSON
 * (JSON.parse accepted it) whose depth was checked: the scan is linear and keeps one frame per
 * open container.
 */
export function duplicateKeys(text: string): Issue[] {
  const issues: Issue[] = [];
  let top: Container | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let end = i + 1;
      for (let d = text.charCodeAt(end); d !== QUOTE; d = text.charCodeAt(end)) end += d === BACKSLASH ? 2 : 1;
      if (top?.keys && top.expectKey) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        if (top.keys.has(key)) issues.push({ field: pathOf(top, key), reason: 'is given twice: the keys of a JSON object must be unique' });
        else top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = end;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      const at = top === undefined ? undefined : top.keys ? top.key : top.index;
      top = { parent: top, at, keys: c === OPEN_OBJECT ? new Set() : undefined, key: '', index: 0, expectKey: c === OPEN_OBJECT };
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      top = top?.parent;
    } else if (c === COMMA && top) {
      if (top.keys) top.expectKey = true;
      else top.index++;
    }
  }
  return issues;
}

/** `[1].payload.a` for key "a" of the object at [1].payload, as the schema's issues name fields. */
function pathOf(container: Container, key: string): string {
  const parts: Array<string | number> = [key];
  for (let c: Container | undefined = container; c?.at !== undefined; c = c.parent) parts.unshift(c.at);
  let out = '';
  for (const part of parts) out += typeof part === 'number' ? `[${part}]` : `${out ? '.' : ''}${part}`;
  return out;
}

/** As parseJsonBody, for a route whose body is optional: no body (or only white space) reads as undefined. */
export function parseOptionalJsonBody(text: string, maxDepth: number): unknown {
  return text.trim() === '' ? undefined : parseJsonBody(text, maxDepth);
}
