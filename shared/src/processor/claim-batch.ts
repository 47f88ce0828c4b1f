import { setMaxListeners } from 'node:events';
import type { Logger } from '../logger.js';
import type { Claimed, Partition } from '../partition/partition.js';
import { SettleQueue } from './settle-queue.js';

/**
 * One claim as the processor holds it: the seqs claimed under one token share a start time,
 * a timeout, and one abort signal (timeout, lost claim, shutdown).
 */
export interface ClaimBatch {
  token: string;
  work: PartitionWork;
  claimed: Claimed[];
  /** attempts still running */
  open: number;
  /** settle items written to the queue whose reply has not come */
  unsettled: number;
  controller: AbortController;
  /** rejects the attempts still running when the batch is aborted */
  running: Set<(reason: Error) => void>;
  timeout: NodeJS.Timeout | undefined;
  /** its attempts' results must not be written (the claim may be someone else's now) */
  gone: boolean;
  /** when it closes with attempts abandoned, give the claim back (false: Redis has none) */
  releaseOnClose: boolean;
  abandoned: number;
  /** Redis's clock at the claim, and this host's monotonic clock then */
  redisAt: number;
  claimedAt: number;
}

/**
 * One partition a processor serves: its door to Redis, the claims it holds there (by token,
 * including claim calls in flight), its settle queue, and when to look at it again.
 */
export class PartitionWork {
  readonly claims = new Map<string, ClaimBatch | 'claiming'>();
  readonly settle: SettleQueue;
  /** bumped by every wake-up: a claim that found nothing only idles the partition if none came since */
  wakeGen = 0;
  idle = false;
  /** monotonic ms at which an idle partition is looked at again (poll, or a retry due) */
  readyAt = 0;
  /** monotonic ms when a call that renews this owner's liveness here was last sent and answered */
  lastBeatAt = 0;
  /** the highest seq this process claimed here: after a Redis rollback, what Redis forgot */
  highestClaimed = 0;

  constructor(readonly partition: Partition, readonly logger: Logger, settle: (work: PartitionWork) => SettleQueue) {
    this.settle = settle(this);
  }

  get tag(): string {
    return this.partition.tag;
  }

  batches(): ClaimBatch[] {
    const out: ClaimBatch[] = [];
    for (const b of this.claims.values()) if (b !== 'claiming') out.push(b);
    return out;
  }
}

export function newBatch(work: PartitionWork, token: string, claimed: Claimed[], redisAt: number, claimedAt: number): ClaimBatch {
  const controller = new AbortController();
  // Every handler of the batch may listen to its one signal.
  setMaxListeners(0, controller.signal);
  return {
    token, work, claimed, open: claimed.length, unsettled: 0, controller, running: new Set(), timeout: undefined,
    gone: false, releaseOnClose: false, abandoned: 0, redisAt, claimedAt,
  };
}

/** Ends a batch's attempts now: their signal aborts and their promises settle with `reason`. */
export function abortBatch(batch: ClaimBatch, reason: Error): void {
  if (!batch.controller.signal.aborted) batch.controller.abort(reason);
  const running = [...batch.running];
  batch.running.clear();
  for (const reject of running) reject(reason);
}
