/**
 * What the benchmark measures besides time: order kept (inversions), Redis CPU from INFO, which
 * commands Redis ran (INFO commandstats, to find round trips and Lua work per message), and the
 * CPU time of the client processes (from /proc on Linux).
 */
import { readFileSync } from 'node:fs';
import type { RedisClient } from '@inorder/shared';

export interface OrderCheck {
  /** pairs (i < j) whose seqs are in the wrong order: 0 means the order was kept exactly */
  inversions: number;
  /** positions whose seq is lower than the one before */
  descents: number;
  keptOrder: boolean;
}

/** Counts inversions with a merge sort (n log n), and descents between neighbours. */
export function countInversions(seqs: readonly number[]): OrderCheck {
  let descents = 0;
  for (let i = 1; i < seqs.length; i++) if (seqs[i]! < seqs[i - 1]!) descents++;
  let a = Float64Array.from(seqs);
  let b = new Float64Array(a.length);
  let inversions = 0;
  for (let width = 1; width < a.length; width *= 2) {
    for (let lo = 0; lo < a.length; lo += 2 * width) {
      const mid = Math.min(lo + width, a.length);
      const hi = Math.min(lo + 2 * width, a.length);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        if (a[j]! < a[i]!) {
          inversions += mid - i;
          b[k++] = a[j++]!;
        } else {
          b[k++] = a[i++]!;
        }
      }
      while (i < mid) b[k++] = a[i++]!;
      while (j < hi) b[k++] = a[j++]!;
    }
    [a, b] = [b, a];
  }
  return { inversions, descents, keptOrder: inversions === 0 };
}

/** Parses an INFO reply's "key:value" lines of one section. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0 && !line.startsWith('#')) fields.set(line.slice(0, at), line.slice(at + 1));
  }
  return fields;
}

/** The server's CPU time so far (used_cpu_sys + used_cpu_user), in microseconds. */
export async function redisCpuUs(redis: RedisClient): Promise<number> {
  const info = parseInfo(await redis.info('cpu'));
  const seconds = Number(info.get('used_cpu_sys') ?? 0) + Number(info.get('used_cpu_user') ?? 0);
  return Math.round(seconds * 1e6);
}

export interface CommandStat {
  command: string;
  calls: number;
  usec: number;
}

/** INFO commandstats since the last CONFIG RESETSTAT; commands called from Lua count too. */
export async function commandStats(redis: RedisClient): Promise<CommandStat[]> {
  const stats: CommandStat[] = [];
  for (const [key, value] of parseInfo(await redis.info('commandstats'))) {
    if (!key.startsWith('cmdstat_')) continue;
    const calls = /calls=(\d+)/.exec(value);
    const usec = /usec=(\d+)/.exec(value);
    stats.push({ command: key.slice('cmdstat_'.length), calls: Number(calls?.[1] ?? 0), usec: Number(usec?.[1] ?? 0) });
  }
  return stats.sort((x, y) => y.usec - x.usec);
}

/** Per-message figures from command stats: calls and µs per message, heaviest first. */
export function perMessage(
  stats: CommandStat[],
  messages: number,
  top = 12,
): Array<{ command: string; callsPerMessage: number; usPerMessage: number }> {
  return stats.slice(0, top).map((s) => ({
    command: s.command,
    callsPerMessage: round(s.calls / messages, 4),
    usPerMessage: round(s.usec / messages, 3),
  }));
}

/** CPU time (user + system) a process has used, in microseconds; undefined off Linux. */
export function processCpuUs(pid: number | undefined): number | undefined {
  if (pid === undefined || pid <= 0) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Math.round((ticks * 1e6) / 100);
  } catch {
    return undefined;
  }
}

/** The whole machine's busy CPU time so far (all cores, every process), in microseconds; undefined off Linux. */
export function machineBusyUs(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [, user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    const busy = user! + nice! + system! + irq! + softirq! + (steal ?? 0);
    return Number.isFinite(busy + idle! + iowait!) ? Math.round((busy * 1e6) / 100) : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time this process has used, in microseconds. */
export function ownCpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
