/**
 * bee-queue's side of the benchmark, run the way BullMQ's is (bench-peer.ts): one worker in a
 * child process (bench-beequeue-worker.ts) with the given concurrency and bee-queue's defaults
 * otherwise, fed by this process with Queue#saveAll in chunks of ADD_CHUNK. The same worker runs
 * every phase of one lifetime (cold, then warm).
 *
 * bee-queue has no pause: for each phase the worker opens the queue anew and calls
 * Queue#process only when told to go, so pre-filled, every job is saved before it takes one.
 * Times come from the worker: when the handler started and when bee-queue reported the job
 * succeeded (its status written). bee-queue keeps no order; the inversions say how far from it.
 *
 * The producer's queue is a producer's, as bee-queue's README sets one up: isWorker: false (no
 * blocking connection), getEvents: false (no subscription to the job events) and storeJobs: false
 * (no job kept in memory for those events).
 */
import { randomBytes } from 'node:crypto';
import BeeQueue from 'bee-queue';
import { hostPort } from './bench-peer-child.js';
import { ADD_CHUNK, PeerSide, type PeerHooks, type PeerSideOptions, type PeerWorker } from './bench-peer.js';

/** The producer's settings beyond the connection (see above). */
export const BEEQUEUE_PRODUCER = { isWorker: false, getEvents: false, storeJobs: false } as const;

function beeQueueHooks(queue: BeeQueue<{ seq: number }>, worker: PeerWorker): PeerHooks {
  return {
    hold: async (_mode, count) => {
      worker.send({ expect: count });
      await worker.ready('the bee-queue worker');
    },
    release: async () => {
      worker.send({ go: true });
      await Promise.resolve();
    },
    feed: async (from, count) => {
      for (let i = 0; i < count; i += ADD_CHUNK) {
        const jobs = [];
        for (let n = i; n < Math.min(count, i + ADD_CHUNK); n++) jobs.push(queue.createJob({ seq: from + n + 1 }));
        const errors = await queue.saveAll(jobs);
        if (errors.size > 0) throw new Error(`bee-queue saveAll: ${[...errors.values()][0]?.message}`);
      }
    },
  };
}

/** Opens the producer's queue and starts the worker. */
export async function startBeeQueue(opts: PeerSideOptions): Promise<PeerSide> {
  const name = `bench-${randomBytes(3).toString('hex')}`;
  const queue = new BeeQueue<{ seq: number }>(name, { redis: hostPort(opts.redisUrl), ...BEEQUEUE_PRODUCER });
  await queue.ready();
  const close = async (): Promise<void> => {
    await queue.destroy().catch(() => {});
    await queue.close();
  };
  const worker = await PeerSide.worker('bench-beequeue-worker', name, opts, close);
  return new PeerSide('bee-queue', opts, worker, beeQueueHooks(queue, worker), close);
}
