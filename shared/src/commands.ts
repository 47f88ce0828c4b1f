import { readFileSync } from 'node:fs';
import type { Cluster, Redis, Result } from 'ioredis';

/**
 * The Lua scripts, one file per atomic step in ../lua (each with its KEYS/ARGV contract on
 * top), registered with ioredis's defineCommand so EVALSHA and NOSCRIPT are handled per
 * connection. `lua/` sits at the package root, so this works from src/ and dist/ alike.
 *
 * Each script has a typed signature below: a tuple of keys, then a tuple of arguments, and its
 * raw reply. Only shared/src/partition/ calls them; it decodes every reply in one place.
 */
export const SCRIPTS = {
  inorderInit: { file: 'init.lua', numberOfKeys: 1 },
  inorderClaim: { file: 'claim.lua', numberOfKeys: 11 },
  inorderComplete: { file: 'complete.lua', numberOfKeys: 9 },
  inorderFail: { file: 'fail.lua', numberOfKeys: 9 },
  inorderHeartbeat: { file: 'heartbeat.lua', numberOfKeys: 5 },
  inorderRelease: { file: 'release.lua', numberOfKeys: 5 },
  inorderFence: { file: 'fence.lua', numberOfKeys: 1 },
  inorderEmit: { file: 'emit.lua', numberOfKeys: 6 },
  inorderProbe: { file: 'probe.lua', numberOfKeys: 7 },
  inorderSubmit: { file: 'submit.lua', numberOfKeys: 5 },
  inorderMembers: { file: 'members.lua', numberOfKeys: 1 },
  inorderRegister: { file: 'register.lua', numberOfKeys: 1 },
} as const;

export type ScriptName = keyof typeof SCRIPTS;

/** How a pipeline orders its output: `strict` (by seq, through a sequencer) or `none`. */
export type Ordering = 'strict' | 'none';

type Arg = string | number;

export type InitCall = [meta: string, layout: string, start: number];
export type ClaimCall = [
  input: string,
  queue: string,
  parked: string,
  state: string,
  claims: string,
  owners: string,
  meta: string,
  skipped: string,
  dead: string,
  delayed: string,
  held: string,
  ordering: Ordering,
  count: number,
  token: string,
  owner: string,
  leaseMs: number,
  window: number,
  floor: number,
];
export type ClaimReply = [
  claimed: string[],
  dropped: string[],
  replayed: number,
  now: number,
  parked: number,
  reaped: number,
  dueIn: number,
];
export type CompleteCall = [
  state: string,
  results: string,
  output: string,
  claims: string,
  held: string,
  dead: string,
  meta: string,
  input: string,
  queue: string,
  ordering: Ordering,
  channel: string,
  tag: string,
  ...triples: Arg[],
];
export type FailCall = [
  state: string,
  delayed: string,
  results: string,
  dead: string,
  claims: string,
  meta: string,
  held: string,
  input: string,
  queue: string,
  ordering: Ordering,
  channel: string,
  tag: string,
  inputChannel: string,
  ...tuples: Arg[],
];
export type HeartbeatCall = [
  owners: string,
  claims: string,
  state: string,
  input: string,
  queue: string,
  ordering: Ordering,
  owner: string,
  leaseMs: number,
  channel: string,
  tag: string,
  ...tokens: string[],
];
export type HeartbeatReply = [alive: number, gone: string[], returned: number, now: number];
export type ReleaseCall = [
  input: string,
  queue: string,
  state: string,
  claims: string,
  owners: string,
  ordering: Ordering,
  owner: string,
  channel: string,
  tag: string,
  ...tokens: string[],
];
export type FenceCall = [meta: string, owner: string, start: number, floor: number];
export type EmitCall = [
  meta: string,
  results: string,
  output: string,
  state: string,
  skipped: string,
  parked: string,
  fence: string,
  next: number,
  now: number,
  skipTo: number,
  lostUpTo: number,
  channel: string,
  tag: string,
  ...idsThenPairs: Arg[],
];
export type EmitReply = [code: number, next: string, results: number, tombstones: number, detail: string];
export type ProbeCall = [
  state: string,
  claims: string,
  owners: string,
  delayed: string,
  input: string,
  parked: string,
  meta: string,
  next: number,
  channel: string,
  tag: string,
];
export type ProbeReply = [
  kind: string,
  owner: string,
  ms: number | string,
  inputLength: number,
  parkedCount: number,
  parkedMin: string,
  delayedCount: number,
  accepted: string,
  stateSize: number,
  now: number,
  next: string,
];

declare module 'ioredis' {
  interface RedisCommander<Context> {
    inorderInit(...args: InitCall): Result<[layout: string, next: string], Context>;
    inorderClaim(...args: ClaimCall): Result<ClaimReply, Context>;
    inorderComplete(...args: CompleteCall): Result<number[], Context>;
    inorderFail(...args: FailCall): Result<[settled: number[], dueAt: number], Context>;
    inorderHeartbeat(...args: HeartbeatCall): Result<HeartbeatReply, Context>;
    inorderRelease(...args: ReleaseCall): Result<number, Context>;
    inorderFence(...args: FenceCall): Result<[fence: string, next: string], Context>;
    inorderEmit(...args: EmitCall): Result<EmitReply, Context>;
    inorderProbe(...args: ProbeCall): Result<ProbeReply, Context>;
    inorderMembers(...args: [members: string, member: string, leaseMs: number]): Result<string[], Context>;
    inorderSubmit(...args: Arg[]): Result<[number, (string[] | string)?, (number[] | string)?, number?], Context>;
    inorderRegister(...args: Arg[]): Result<[number, string | number], Context>;
  }
}

export const LUA_DIR = new URL('../lua/', import.meta.url);

const sources = new Map<ScriptName, string>();

/**
 * A script's source as Redis runs it: its file, with each `--#include <path>` line replaced by
 * the fragment at that path under lua/ (EVAL scripts cannot share functions otherwise).
 */
export function scriptSource(name: ScriptName): string {
  let source = sources.get(name);
  if (source === undefined) {
    source = expand(SCRIPTS[name].file, new Set());
    sources.set(name, source);
  }
  return source;
}

/** A file with its `--#include` lines replaced, fragments within fragments too, each one once. */
function expand(file: string, seen: Set<string>): string {
  return readFileSync(new URL(file, LUA_DIR), 'utf8').replace(/^--#include (\S+)\n/gm, (_, fragment: string) => {
    if (seen.has(fragment)) return '';
    seen.add(fragment);
    return expand(fragment, seen);
  });
}

export function defineCommands(redis: Redis | Cluster): void {
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    redis.defineCommand(name, { numberOfKeys: SCRIPTS[name].numberOfKeys, lua: scriptSource(name) });
  }
}
