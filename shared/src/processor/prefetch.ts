import { performance } from 'node:perf_hooks';
import type { Claimed } from '../partition/partition.js';
import type { ClaimBatch } from './claim-batch.js';

/** How far ahead an adaptive prefetch claims: what the slots finish in this many ms. */
const PREFETCH_WINDOW_MS = 10;
/** Completions are counted over windows this long, then smoothed. */
const RATE_WINDOW_MS = 100;
/** Handlers that take this long on average gain little from skipping a claim's round trip. */
const SLOW_HANDLER_MS = PREFETCH_WINDOW_MS;

/**
 * Claimed messages waiting for a slot, first claimed first started, and how many may wait.
 * A processor claims ahead of its free slots so that a slot that finishes starts its next
 * message without a round trip to Redis, and so that each claim carries a batch even when slots
 * free one at a time. The depth adapts to the handler: about what the slots finish in 10 ms
 * (large for cheap handlers, one or two for slow ones, so no processor sits on messages another
 * could run now), at most `max` (BATCH_SIZE); a fixed `PREFETCH` overrides it. Handlers of 10 ms or more get
 * none: a round trip saved is small beside their work, and a message waiting here for one of
 * this processor's slots is one another processor with a free slot could have started (seen as
 * queue and reorder wait at 2,000 msg/s of 100 ms work).
 */
export class Prefetch {
  private readonly batches: ClaimBatch[] = [];
  private waiting = 0;
  private rate = 0;
  private windowStart = performance.now();
  private windowCount = 0;
  private windowWorkMs = 0;
  private workMs = 0;

  constructor(
    private readonly max: number,
    private readonly fixed: number | undefined,
  ) {}

  /** Messages claimed and not started. */
  get size(): number {
    return this.waiting;
  }

  /** How deep the prefetch may be now: about what the slots finish in 10 ms. */
  depth(): number {
    if (this.fixed !== undefined) return this.fixed;
    return this.workMs >= SLOW_HANDLER_MS ? 0 : Math.min(this.max, Math.ceil(this.rate * PREFETCH_WINDOW_MS));
  }

  /** How many more may be claimed ahead now. */
  room(): number {
    return Math.max(0, this.depth() - this.waiting);
  }

  /** A claim's messages join the queue. */
  add(batch: ClaimBatch): void {
    if (batch.queued.length === 0) return;
    this.batches.push(batch);
    this.waiting += batch.queued.length;
  }

  /** Takes up to `count` waiting messages of the oldest claim still waiting. */
  take(count: number): { batch: ClaimBatch; items: Claimed[] } | undefined {
    for (;;) {
      const batch = this.batches[0];
      if (!batch) return undefined;
      if (batch.queued.length === 0) {
        this.batches.shift();
        continue;
      }
      const items = batch.queued.splice(0, Math.min(count, batch.queued.length));
      this.waiting -= items.length;
      if (batch.queued.length === 0) this.batches.shift();
      return { batch, items };
    }
  }

  /** Drops a claim's waiting messages (it was lost, or the processor stops); returns how many. */
  drop(batch: ClaimBatch): number {
    const n = batch.queued.length;
    batch.queued = [];
    this.waiting -= n;
    const at = this.batches.indexOf(batch);
    if (at >= 0) this.batches.splice(at, 1);
    return n;
  }

  /** Counts a finished attempt, which ran `startedAt` to now (performance.now), toward the rates. */
  finished(startedAt: number): void {
    this.windowCount++;
    const now = performance.now();
    this.windowWorkMs += now - startedAt;
    const elapsed = now - this.windowStart;
    if (elapsed < RATE_WINDOW_MS) return;
    this.rate = 0.5 * this.rate + 0.5 * (this.windowCount / elapsed);
    this.workMs = 0.5 * this.workMs + 0.5 * (this.windowWorkMs / this.windowCount);
    this.windowStart = now;
    this.windowCount = 0;
    this.windowWorkMs = 0;
  }
}
