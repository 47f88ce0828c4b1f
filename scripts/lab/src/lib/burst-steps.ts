import { enqueue, type NewMessage, type PartitionKeys, type RedisClient } from '@inorder/shared';
import { formatDuration, formatInt, readBacklog, settledCount, type Output } from '@inorder/tools';
import type { ServiceGroup } from './stack.js';

/** The steps of a burst run that talk to the partition: enqueueing, counting what settled, waiting. */

/** Latest dead-letter time (the output's latest sequencedAt comes from the stats). */
export async function lastDeadAt(client: RedisClient, keys: PartitionKeys): Promise<number | undefined> {
  const raw = await client.lrange(keys.dead, -1, -1);
  try {
    const deadAt = raw[0] ? (JSON.parse(raw[0]) as { deadAt?: unknown }).deadAt : undefined;
    return typeof deadAt === 'number' ? deadAt : undefined;
  } catch {
    return undefined;
  }
}

export async function enqueueRange(
  client: RedisClient,
  target: { pipeline: string; partition: number; prefix: string },
  from: number,
  count: number,
): Promise<void> {
  const CHUNK = 10_000;
  for (let start = from; start < from + count; start += CHUNK) {
    const messages: NewMessage[] = [];
    for (let seq = start; seq < Math.min(from + count, start + CHUNK); seq++) messages.push({ seq, payload: { n: seq } });
    await enqueue(client, target, messages);
  }
}

/** Picks the first seq for a run on an existing pipeline, refusing one that still has work in it. */
export async function firstSeq(client: RedisClient, keys: PartitionKeys, pipeline: string, from: number | undefined): Promise<number> {
  const backlog = await readBacklog(client, keys);
  if (from !== undefined) return from;
  const busy = backlog.input + backlog.inFlight + backlog.results;
  if (busy > 0) {
    throw new Error(`pipeline ${pipeline} still has ${busy} messages in flight; wait for them, use another --pipeline, or pass --from`);
  }
  return backlog.next ?? 1;
}

export interface WaitParts {
  client: RedisClient;
  keys: PartitionKeys;
  services: ServiceGroup | undefined;
  out: Output;
  target: number;
  count: number;
  base: number;
  timeoutMs: number;
  stallMs: number;
}

/** Polls until output + dead letters + skips reach the target; false on a timeout, a stall, or dead services. */
export async function waitForSettled(p: WaitParts): Promise<boolean> {
  const bar = p.out.progress(p.count, 'settled');
  const started = Date.now();
  let last = -1;
  let lastMoved = started;
  try {
    for (;;) {
      const settled = (await settledCount(p.client, p.keys)) - p.base;
      const now = Date.now();
      if (settled !== last) {
        last = settled;
        lastMoved = now;
      }
      const rate = settled / Math.max(0.001, (now - started) / 1000);
      bar.update(Math.min(settled, p.count), `${formatInt(rate)} msg/s`);
      if (settled >= p.count) return true;
      if (now - started > p.timeoutMs) {
        p.out.line(`  gave up waiting after ${formatDuration(now - started)}: ${formatInt(settled)} of ${formatInt(p.count)} settled`);
        return false;
      }
      if (now - lastMoved > p.stallMs) {
        p.out.line(`  nothing moved for ${formatDuration(now - lastMoved)}: ${formatInt(settled)} of ${formatInt(p.count)} settled`);
        return false;
      }
      if (p.services) {
        const gone = [p.services.processors, p.services.sequencers].find((group) => group.length > 0 && group.every((s) => !s.running));
        if (gone) {
          p.out.line(`  every ${gone[0]!.role} has exited: ${formatInt(settled)} of ${formatInt(p.count)} settled`);
          return false;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    bar.stop();
  }
}
