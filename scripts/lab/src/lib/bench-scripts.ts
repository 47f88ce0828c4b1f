/**
 * Redis time per Lua script. INFO commandstats counts every script under one `evalsha`; SLOWLOG
 * with a threshold of 0 records each call's duration and its SHA, which names the script
 * (sha1 of its source as loaded). Recording every call costs Redis some CPU, so the bench does
 * this only under --profile, and its other figures from such a run are for reading, not targets.
 */
import { createHash } from 'node:crypto';
import { SCRIPTS, scriptSource, type RedisClient, type ScriptName } from '@inorder/shared';
import { round } from './bench-metrics.js';

export interface ScriptTimes {
  /** per Lua script (claim, complete, emit ...; the commands a script calls count in its time): calls and µs per message */
  byScript: Array<{ script: string; calls: number; usPerMessage: number; usPerCall: number; messagesPerCall: number }>;
  /** entries SLOWLOG held (when it equals its length limit, the oldest were dropped) */
  entries: number;
}

const MAX_ENTRIES = 1_000_000;

function scriptNames(): Map<string, string> {
  const names = new Map<string, string>();
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    const sha = createHash('sha1').update(scriptSource(name)).digest('hex');
    names.set(sha, name.replace(/^inorder/, '').toLowerCase());
  }
  return names;
}

type SlowlogEntry = [id: number, at: number, us: number, args: string[], ...rest: unknown[]];

export class ScriptTimer {
  private readonly names = scriptNames();
  private saved: Array<[string, string]> = [];

  constructor(private readonly nodes: RedisClient[]) {}

  async start(): Promise<void> {
    this.saved = [];
    const node = this.nodes[0]!;
    const [, threshold] = (await node.config('GET', 'slowlog-log-slower-than')) as string[];
    const [, length] = (await node.config('GET', 'slowlog-max-len')) as string[];
    this.saved = [
      ['slowlog-log-slower-than', threshold ?? '10000'],
      ['slowlog-max-len', length ?? '128'],
    ];
    for (const n of this.nodes) {
      await n.config('SET', 'slowlog-max-len', String(MAX_ENTRIES));
      await n.config('SET', 'slowlog-log-slower-than', '0');
      await n.call('SLOWLOG', 'RESET');
    }
  }

  async stop(messages: number): Promise<ScriptTimes> {
    const totals = new Map<string, { calls: number; us: number }>();
    let entries = 0;
    for (const n of this.nodes) {
      await n.config('SET', 'slowlog-log-slower-than', '-1');
      const log = (await n.call('SLOWLOG', 'GET', '-1')) as SlowlogEntry[];
      entries += log.length;
      for (const [, , us, args] of log) {
        const command = String(args[0] ?? '').toLowerCase();
        const name = command === 'evalsha' ? (this.names.get(String(args[1])) ?? 'other script') : command;
        const t = totals.get(name) ?? { calls: 0, us: 0 };
        t.calls++;
        t.us += us;
        totals.set(name, t);
      }
      await n.call('SLOWLOG', 'RESET');
      for (const [key, value] of this.saved) await n.config('SET', key, value);
    }
    // SLOWLOG also lists the commands scripts call, which their scripts' times include already.
    const scripts = new Set([...this.names.values(), 'other script']);
    const byScript = [...totals]
      .filter(([name]) => scripts.has(name))
      .map(([script, t]) => ({
        script,
        calls: t.calls,
        usPerMessage: round(t.us / messages, 2),
        usPerCall: round(t.us / t.calls, 1),
        messagesPerCall: round(messages / t.calls, 1),
      }))
      .sort((a, b) => b.usPerMessage - a.usPerMessage);
    return { byScript, entries };
  }
}
