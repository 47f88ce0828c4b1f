import { performance } from 'node:perf_hooks';
import type { ProcessorSettings } from '../config/services.js';
import { HandlerTimeoutError } from '../errors.js';
import type { Claimed } from '../partition/partition.js';
import { runAttempt, type AttemptParts, type Outcome } from './attempt.js';
import { abortPart, closeIfDone, newPart, type ClaimBatch, type Part } from './claim-batch.js';
import type { Doorbell } from './doorbell.js';
import { settleItem, type ProcessorStats } from './outcomes.js';
import { Prefetch } from './prefetch.js';

/**
 * A processor's CONCURRENCY handler slots, shared by every partition it serves. Claimed messages
 * wait in the prefetch until a slot frees, start oldest claim first, each group under its own
 * abort signal and timeout, and each outcome goes to its partition's settle queue. Every finish
 * rings the processor's doorbell, so that its claim loop sees the slot free.
 */
export class HandlerSlots {
  /** claimed messages waiting for a slot, and how many may wait */
  readonly prefetch: Prefetch;
  /** slots whose handler runs now */
  private busy = 0;
  /** a refill of the freed slots is queued (refill()) */
  private refillQueued = false;

  constructor(
    private readonly settings: ProcessorSettings,
    private readonly attemptParts: AttemptParts,
    private readonly stats: ProcessorStats,
    private readonly bell: Doorbell,
    /** the processor's way to give a claim up (abort its parts, drop what waits, release on close) */
    private readonly giveUp: (batch: ClaimBatch, reason: Error, release: boolean) => void,
  ) {
    const { batchSize, prefetch } = settings;
    this.prefetch = new Prefetch(batchSize, prefetch);
  }

  /** Handlers running now. */
  get inFlight(): number {
    return this.busy;
  }

  /** Slots with no handler running. */
  get free(): number {
    return this.settings.concurrency - this.busy;
  }

  /** Takes a new claim's messages, and starts what the free slots can. */
  add(batch: ClaimBatch): void {
    this.prefetch.add(batch);
    this.startWaiting(this.free);
  }

  /** Starts up to `free` waiting messages, oldest claim first, each group under its own signal and timeout. */
  startWaiting(free: number): void {
    const { handlerTimeoutMs, claimLeaseMs } = this.settings;
    while (free > 0) {
      const next = this.prefetch.take(free);
      if (!next) return;
      const { batch, items } = next;
      const silentMs = performance.now() - batch.work.lastBeatAt;
      if (batch.gone || silentMs >= claimLeaseMs) {
        // Redis has not heard from this process for a lease (it was paused, or Redis was slow):
        // another processor may hold the claim now. Nothing of it starts, and it is given up
        // here, as upkeep would on its next beat, because the next claim would hide the silence.
        this.abandonWaiting(batch, items.length);
        const reason = `claim given up: this process was not heard from by Redis for ${Math.round(silentMs)} ms (paused, blocked or Redis slow)`;
        this.giveUp(batch, new Error(reason), true);
        closeIfDone(batch);
        continue;
      }
      const part = newPart(items.length);
      part.timeout = setTimeout(() => abortPart(part, new HandlerTimeoutError(handlerTimeoutMs)), handlerTimeoutMs);
      batch.parts.add(part);
      this.busy += items.length;
      free -= items.length;
      for (const item of items) void this.runOne(batch, part, item);
    }
  }

  /**
   * Freed slots take the next waiting messages at once, not on the claim loop's next turn: cheap
   * handlers then run through the whole prefetch within one turn and settle as one batch. The
   * slots that free in one sweep of the microtask queue start together (one group, one timer).
   */
  private refill(): void {
    if (this.refillQueued || this.prefetch.size === 0) return;
    this.refillQueued = true;
    queueMicrotask(() => {
      this.refillQueued = false;
      this.startWaiting(this.free);
    });
  }

  /** Drops a batch's waiting messages: they were never started, and go back with the claim. */
  dropWaiting(batch: ClaimBatch): void {
    this.abandonWaiting(batch, 0);
  }

  /** `taken` messages of `batch` taken from the prefetch, and the rest still in it, are not started. */
  private abandonWaiting(batch: ClaimBatch, taken: number): void {
    const n = taken + this.prefetch.drop(batch);
    batch.open -= n;
    batch.abandoned += n;
    this.stats.abandoned += n;
  }

  private async runOne(batch: ClaimBatch, part: Part, claimed: Claimed): Promise<void> {
    const startedAt = performance.now();
    const outcome = await runAttempt(this.attemptParts, {
      claimed,
      signal: part.controller.signal,
      redisNow: () => batch.redisAt + (performance.now() - batch.claimedAt),
      track: (reject) => {
        part.running.add(reject);
        return () => part.running.delete(reject);
      },
    });
    this.finish(batch, part, claimed, outcome, startedAt);
  }

  private finish(batch: ClaimBatch, part: Part, claimed: Claimed, outcome: Outcome, startedAt: number): void {
    this.busy--;
    part.open--;
    batch.open--;
    this.prefetch.finished(startedAt);
    const { work } = batch;
    if (outcome.action === 'abandoned' || batch.gone) {
      batch.abandoned++;
      this.stats.abandoned++;
    } else {
      batch.unsettled++;
      work.settle.push(settleItem(claimed.seq, batch.token, outcome));
      if (outcome.action === 'retry') work.readyAt = Math.min(work.readyAt, performance.now() + outcome.delayMs);
      work.tell.outcome(claimed, outcome);
    }
    if (part.open === 0) {
      clearTimeout(part.timeout);
      batch.parts.delete(part);
    }
    closeIfDone(batch);
    this.refill();
    this.bell.ring();
  }
}
