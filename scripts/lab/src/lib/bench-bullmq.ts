/**
 * BullMQ's side of the benchmark: one Worker in a child process (bench-bullmq-worker.ts), with the
 * given concurrency and BullMQ's defaults otherwise, fed by this process with Queue.addBulk. The
 * same worker runs every phase of one lifetime (cold, then warm).
 *
 * Pre-filled: the queue is paused with BullMQ's own Queue.pause() while it fills, then resumed.
 * Times come from the jobs: the first `processedOn` (pre-filled) or the first add (end-to-end),
 * to the last `finishedOn`. BullMQ keeps no order; the inversions say how far from it it got.
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { hostPort } from './bench-peer-child.js';
import { ADD_CHUNK, PeerSide, type PeerHooks, type PeerSideOptions, type PeerWorker } from './bench-peer.js';

export interface BullmqSideOptions extends PeerSideOptions {
  /** BullMQ's removeOnComplete: false keeps every completed job (BullMQ's default) */
  removeOnComplete: boolean;
}

function bullmqHooks(queue: Queue, worker: PeerWorker): PeerHooks {
  return {
    hold: async (mode, count) => {
      worker.send({ expect: count });
      if (mode === 'prefilled') await queue.pause();
    },
    release: async (mode) => {
      if (mode === 'prefilled') await queue.resume();
    },
    feed: async (from, count) => {
      for (let i = 0; i < count; i += ADD_CHUNK) {
        const jobs = [];
        for (let n = i; n < Math.min(count, i + ADD_CHUNK); n++) jobs.push({ name: 'm', data: { seq: from + n + 1 } });
        await queue.addBulk(jobs);
      }
    },
  };
}

/** Opens the producer's Queue and starts the worker. */
export async function startBullmq(opts: BullmqSideOptions): Promise<PeerSide> {
  const name = `bench-${randomBytes(3).toString('hex')}`;
  const queue = new Queue(name, {
    connection: { ...hostPort(opts.redisUrl), maxRetriesPerRequest: null },
    defaultJobOptions: { removeOnComplete: opts.removeOnComplete },
  });
  await queue.waitUntilReady();
  const close = async (): Promise<void> => {
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  };
  const worker = await PeerSide.worker('bench-bullmq-worker', name, opts, close);
  return new PeerSide('bullmq', opts, worker, bullmqHooks(queue, worker), close);
}
