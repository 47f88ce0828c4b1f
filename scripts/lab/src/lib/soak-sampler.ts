/**
 * What soak-run watches while a load runs: a backlog sample every second (which also moves the
 * progress bar), and the bounded wait until output, dead letters and skips account for every
 * message sent.
 */
import type { PartitionKeys, RedisClient } from '@inorder/shared';
import { formatInt, settledCount, type Output } from '@inorder/tools';

/** One backlog sample: where the messages are, `t` seconds after the first enqueue. */
export interface Sample {
  t: number;
  /** entries waiting in the input list */
  input: number;
  /** seqs claimed, waiting for a retry, or done and not yet emitted */
  inFlight: number;
  /** entries in the results stream */
  results: number;
  /** entries in the output list (this run's and any earlier) */
  output: number;
  sent: number;
}

/** Where the messages are now: one Sample. */
async function sample(client: RedisClient, keys: PartitionKeys, t: number, sent: number): Promise<Sample> {
  const [input, inFlight, results, output] = await Promise.all([
    client.llen(keys.input),
    client.hlen(keys.state),
    client.xlen(keys.results),
    client.llen(keys.output),
  ]);
  return { t, input, inFlight, results, output, sent };
}

/** Samples the partition once a second (and moves the progress bar) until stopped. */
export function startSampler(at: {
  client: RedisClient;
  keys: PartitionKeys;
  startedAt: number;
  base: number;
  total: number;
  label: string;
  out: Output;
  sent: () => number;
}): { samples: Sample[]; stop(): Promise<void> } {
  const samples: Sample[] = [];
  const bar = at.out.progress(at.total, at.label);
  let sampling = true;
  const loop = (async () => {
    for (let n = 1; sampling; n++) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, at.startedAt + n * 1000 - Date.now())));
      if (!sampling) break;
      try {
        const s = await sample(at.client, at.keys, (Date.now() - at.startedAt) / 1000, at.sent());
        samples.push(s);
        bar.update(
          Math.max(0, Math.min(at.total, s.output - at.base)),
          `sent ${formatInt(at.sent())}, backlog ${formatInt(s.input + s.results)}`,
        );
      } catch {
        // Redis restarting: the next sample will tell
      }
    }
  })();
  return {
    samples,
    async stop() {
      sampling = false;
      await loop;
      bar.stop();
    },
  };
}

/** Waits until output + dead letters + skips reach `target`; false on a timeout or a stall. */
export async function waitForDrain(
  client: RedisClient,
  keys: PartitionKeys,
  target: number,
  timeoutMs: number,
  stallMs: number,
  out: Output,
): Promise<boolean> {
  const started = Date.now();
  let last = -1;
  let movedAt = started;
  for (;;) {
    const now = Date.now();
    let count = last;
    try {
      count = await settledCount(client, keys);
    } catch {
      // a fault may still be healing: keep waiting within the bounds
    }
    if (count >= target) return true;
    if (count !== last) {
      last = count;
      movedAt = now;
    }
    if (now - started > timeoutMs || now - movedAt > stallMs) {
      out.line(
        `  gave up waiting: ${formatInt(Math.max(0, count))} of ${formatInt(target)} accounted for after ${Math.round((now - started) / 1000)} s`,
      );
      return false;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
