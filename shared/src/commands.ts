import { readFileSync } from 'node:fs';
import type { Cluster, Redis, Result } from 'ioredis';
import type { PartitionKeys } from './partition/keys.js';

/**
 * The Lua scripts, one file per atomic step in ../lua (each with its KEYS/ARGV contract on
 * top), registered with ioredis's defineCommand so EVALSHA and NOSCRIPT are handled per
 * connection. `lua/` sits at the package root, so this works from src/ and dist/ alike.
 *
 * Each script names its KEYS as its header does (the names of `PartitionKeys` for a partition's
 * scripts: `scriptKeys` picks them), and has a typed signature below: a tuple of keys, then a
 * tuple of arguments, and its raw reply. Only shared/src/partition/ calls them; it decodes every reply in one place.
 */
export const SCRIPTS = {
  inorderInit: { file: 'init.lua', keys: ['meta'] },
  inorderClaim: {
    file: 'claim.lua',
    keys: ['input', 'queue', 'parked', 'state', 'claims', 'owners', 'meta', 'skipped', 'dead', 'delayed', 'held'],
  },
  inorderComplete: { file: 'complete.lua', keys: ['state', 'results', 'output', 'claims', 'held', 'dead', 'meta', 'input', 'queue'] },
  inorderFail: { file: 'fail.lua', keys: ['state', 'delayed', 'results', 'dead', 'claims', 'meta', 'held', 'input', 'queue'] },
  inorderHeartbeat: { file: 'heartbeat.lua', keys: ['owners', 'claims', 'state', 'input', 'queue'] },
  inorderRelease: { file: 'release.lua', keys: ['input', 'queue', 'state', 'claims', 'owners'] },
  inorderFence: { file: 'fence.lua', keys: ['meta'] },
  inorderEmit: { file: 'emit.lua', keys: ['meta', 'results', 'output', 'state', 'skipped', 'parked'] },
  inorderProbe: { file: 'probe.lua', keys: ['state', 'claims', 'owners', 'delayed', 'input', 'parked', 'meta'] },
  inorderSubmit: { file: 'submit.lua', keys: ['meta', 'input', 'queue', 'dedupe', 'dedupeAt'] },
  // The registry's keys, not a partition's.
  inorderMembers: { file: 'members.lua', keys: ['members'] },
  inorderRegister: { file: 'register.lua', keys: ['registry'] },
} as const satisfies Record<string, { file: string; keys: readonly string[] }>;

export type ScriptName = keyof typeof SCRIPTS;

/** The scripts whose keys are all keys of one partition. */
export type PartitionScript = {
  [N in ScriptName]: (typeof SCRIPTS)[N]['keys'][number] extends keyof PartitionKeys ? N : never;
}[ScriptName];

/** A script's KEYS, in the order its header documents them. */
export type ScriptKeys<N extends PartitionScript> = Strings<(typeof SCRIPTS)[N]['keys']>;
type Strings<T extends readonly unknown[]> = { -readonly [I in keyof T]: string };

/** The KEYS of partition script `name`, taken from `keys` by the names its header gives them. */
export function scriptKeys<N extends PartitionScript>(name: N, keys: PartitionKeys): ScriptKeys<N> {
  return (SCRIPTS[name].keys as readonly (keyof PartitionKeys)[]).map((key) => keys[key]) as ScriptKeys<N>;
}

/** How a pipeline orders its output: `strict` (by seq, through a sequencer) or `none`. */
export type Ordering = 'strict' | 'none';

type Arg = string | number;

export type InitCall = [...ScriptKeys<'inorderInit'>, layout: string, start: number];
export type ClaimCall = [
  ...ScriptKeys<'inorderClaim'>,
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
export type CompleteCall = [...ScriptKeys<'inorderComplete'>, ordering: Ordering, channel: string, tag: string, ...triples: Arg[]];
export type FailCall = [
  ...ScriptKeys<'inorderFail'>,
  ordering: Ordering,
  channel: string,
  tag: string,
  inputChannel: string,
  ...tuples: Arg[],
];
export type HeartbeatCall = [
  ...ScriptKeys<'inorderHeartbeat'>,
  ordering: Ordering,
  owner: string,
  leaseMs: number,
  channel: string,
  tag: string,
  ...tokens: string[],
];
export type HeartbeatReply = [alive: number, gone: string[], returned: number, now: number];
export type ReleaseCall = [
  ...ScriptKeys<'inorderRelease'>,
  ordering: Ordering,
  owner: string,
  channel: string,
  tag: string,
  ...tokens: string[],
];
export type FenceCall = [...ScriptKeys<'inorderFence'>, owner: string, start: number, floor: number];
export type EmitCall = [
  ...ScriptKeys<'inorderEmit'>,
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
export type ProbeCall = [...ScriptKeys<'inorderProbe'>, next: number, channel: string, tag: string];
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
    redis.defineCommand(name, { numberOfKeys: SCRIPTS[name].keys.length, lua: scriptSource(name) });
  }
}
