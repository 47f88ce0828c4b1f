import { readFileSync } from 'node:fs';
import type { Cluster, Redis, Result } from 'ioredis';

/**
 * The Lua scripts, one file per atomic step in ../lua (each with its KEYS/ARGV contract on
 * top), registered with ioredis's defineCommand so EVALSHA and NOSCRIPT are handled per
 * connection. `lua/` sits at the package root, so this works from src/ and dist/ alike.
 */
export const SCRIPTS = {
  inorderInit: { file: 'init.lua', numberOfKeys: 1 },
  inorderClaim: { file: 'claim.lua', numberOfKeys: 9 },
  inorderComplete: { file: 'complete.lua', numberOfKeys: 4 },
  inorderFail: { file: 'fail.lua', numberOfKeys: 7 },
  inorderRenew: { file: 'renew.lua', numberOfKeys: 1 },
  inorderReap: { file: 'reap.lua', numberOfKeys: 6 },
  inorderPromote: { file: 'promote.lua', numberOfKeys: 5 },
  inorderFence: { file: 'fence.lua', numberOfKeys: 1 },
  inorderEmit: { file: 'emit.lua', numberOfKeys: 5 },
  inorderSubmit: { file: 'submit.lua', numberOfKeys: 6 },
  inorderRegister: { file: 'register.lua', numberOfKeys: 1 },
} as const;

export type ScriptName = keyof typeof SCRIPTS;

type Arg = string | number;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    inorderInit(...args: Arg[]): Result<[string, string], Context>;
    inorderClaim(...args: Arg[]): Result<[string[], string[], number, number?], Context>;
    inorderComplete(...args: Arg[]): Result<number[], Context>;
    inorderFail(...args: Arg[]): Result<number[], Context>;
    inorderRenew(...args: Arg[]): Result<number[], Context>;
    inorderReap(...args: Arg[]): Result<[string[], number], Context>;
    inorderPromote(...args: Arg[]): Result<[number, number], Context>;
    inorderFence(...args: Arg[]): Result<[string, string], Context>;
    inorderEmit(...args: Arg[]): Result<[number, string], Context>;
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
    source = readFileSync(new URL(SCRIPTS[name].file, LUA_DIR), 'utf8').replace(
      /^--#include (\S+)\n/gm,
      (_, fragment: string) => readFileSync(new URL(fragment, LUA_DIR), 'utf8'),
    );
    sources.set(name, source);
  }
  return source;
}

export function defineCommands(redis: Redis | Cluster): void {
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    redis.defineCommand(name, { numberOfKeys: SCRIPTS[name].numberOfKeys, lua: scriptSource(name) });
  }
}
