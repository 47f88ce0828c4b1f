import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Claimed, Partition } from '../partition/partition.js';
import type { PartitionTelemetry } from './outcomes.js';
import type { SettleQueue } from './settle-queue.js';

/**
 * Seqs of one claim started together: they share one abort signal (timeout, lost claim,
 * shutdown) and one timeout, counted from their start.
 */
export interface Part {
  controller: AbortController;
  /** rejects the attempts still running when the part is aborted */
  running: Set<(reason: Error) => void>;
  timeout: NodeJS.Timeout | undefined;
  /** attempts of the part still running */
  open: number;
}

/**
 * One claim as the processor holds it: the seqs claimed under one token. Some may wait to be
 * started (prefetched: claimed ahead so a freed slot starts at once); the others run in parts.
 */
export interface ClaimBatch {
  token: string;
  work: PartitionWork;
  /** claimed and not started yet, in seq order */
  queued: Claimed[];
  parts: Set<Part>;
  /** seqs not finished yet: queued or running */
  open: number;
  /** settle items written to the queue whose reply has not come */
  unsettled: number;
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
  /** monotonic ms when a claim of this process last took something here */
  lastClaimedAt = -Infinity;
  /** the highest seq this process claimed here: after a Redis rollback, what Redis forgot */
  highestClaimed = 0;

  constructor(
    readonly partition: Partition,
    readonly tell: PartitionTelemetry,
    settle: (work: PartitionWork) => SettleQueue,
  ) {
    this.settle = settle(this);
  }

  get logger(): PartitionTelemetry['logger'] {
    return this.tell.logger;
  }

  get tag(): string {
    return this.partition.tag;
  }

  /** A wake-up: the partition has work; the claim loop looks at it now. */
  woken(bell: { ring(): void }): void {
    this.wakeGen++;
    this.idle = false;
    bell.ring();
  }

  batches(): ClaimBatch[] {
    const out: ClaimBatch[] = [];
    for (const b of this.claims.values()) if (b !== 'claiming') out.push(b);
    return out;
  }
}

export function newBatch(work: PartitionWork, token: string, claimed: Claimed[], redisAt: number, claimedAt: number): ClaimBatch {
  return {
    token,
    work,
    queued: claimed,
    parts: new Set(),
    open: claimed.length,
    unsettled: 0,
    gone: false,
    releaseOnClose: false,
    abandoned: 0,
    redisAt,
    claimedAt,
  };
}

/** A new part of `count` seqs, with its own signal (every handler of the part may listen to it). */
export function newPart(count: number): Part {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return { controller, running: new Set(), timeout: undefined, open: count };
}

/** Ends a part's attempts now: its signal aborts and their promises settle with `reason`. */
export function abortPart(part: Part, reason: Error): void {
  if (!part.controller.signal.aborted) part.controller.abort(reason);
  const running = [...part.running];
  part.running.clear();
  for (const reject of running) reject(reason);
}

/** Seqs running in a batch's parts. */
export function running(batch: ClaimBatch): number {
  let n = 0;
  for (const part of batch.parts) n += part.open;
  return n;
}

const DEFAULT_IDLE_POLL_MS = 250;
/** An idle process polls at most this many partitions a second. */
const IDLE_POLLS_PER_SECOND = 200;

/** The partitions to claim from now: those with work, and idle ones whose next look is due. */
export function readyWorks(works: Iterable<PartitionWork>): PartitionWork[] {
  const now = performance.now();
  const ready: PartitionWork[] = [];
  for (const work of works) if (!work.idle || work.readyAt <= now) ready.push(work);
  return ready;
}

/** How long until an idle partition is due a look (1 s when none is served). */
export function msUntilNextLook(works: Iterable<PartitionWork>): number {
  let soonest = Infinity;
  for (const work of works) soonest = Math.min(soonest, work.readyAt);
  return soonest === Infinity ? 1000 : Math.max(1, soonest - performance.now());
}

/** How often an idle partition is polled: `base`, slower when many are served. */
export function pollMs(served: number, base = DEFAULT_IDLE_POLL_MS): number {
  return Math.max(base, Math.ceil((served * 1000) / IDLE_POLLS_PER_SECOND));
}

/** At shutdown: writes what settled, then gives back every claim still open (and the owner's liveness). */
export async function returnClaims(works: PartitionWork[], open: Map<PartitionWork, string[]>, owner: string): Promise<number> {
  let returned = 0;
  for (const work of works) {
    await work.settle.drain();
    try {
      returned += await work.partition.release(open.get(work) ?? [], owner);
    } catch (error) {
      work.logger.warn('returning claims at shutdown failed; they return when the lease lapses', { error: String(error) });
    }
  }
  return returned;
}

/** Each partition's summary line and gauges (every `intervalMs`). */
export async function summarise(works: Iterable<PartitionWork>, intervalMs: number): Promise<void> {
  for (const work of [...works]) {
    try {
      const status = await work.partition.status();
      const inFlight = work.batches().reduce((n, b) => n + b.open, 0);
      work.tell.summary(status, inFlight, intervalMs);
    } catch (error) {
      work.logger.debug('reading the partition status for the summary failed', { error: String(error) });
    }
  }
}

/** A processor's id as claim tokens need it ("owner:n": the scripts find an owner's claims by that prefix). */
export function ownerId(owner: string): string {
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(owner))
    throw new RangeError(`processor owner id ${JSON.stringify(owner)} must be 1-100 of A-Z a-z 0-9 _ . -`);
  return owner;
}

/** Forgets a batch once every attempt ended and every write was answered. */
export function closeIfDone(batch: ClaimBatch): void {
  if (batch.open > 0 || batch.unsettled > 0 || batch.work.claims.get(batch.token) !== batch) return;
  batch.work.claims.delete(batch.token);
  if (batch.abandoned > 0 && batch.releaseOnClose) {
    batch.work.partition.release([batch.token]).catch((error: unknown) => {
      batch.work.logger.warn('returning an abandoned claim failed; it returns when the lease lapses', { error: String(error) });
    });
  }
}
