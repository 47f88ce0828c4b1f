import { performance } from 'node:perf_hooks';
import type { Handler } from '../handler.js';
import { instanceId, type Logger } from '../logger.js';
import type { Claimed, ClaimResult, Dropped, Partition } from '../partition/partition.js';
import type { RedisClient } from '../redis.js';
import { HandlerTimeoutError } from '../errors.js';
import { delay, systemClock, type Clock } from '../time.js';
import { WakeListener } from '../wake.js';
import { wakeChannels } from '../partition/keys.js';
import { runAttempt, type AttemptParts, type Outcome } from './attempt.js';
import { PartitionWork, abortBatch, newBatch, type ClaimBatch } from './claim-batch.js';
import { Doorbell } from './doorbell.js';
import { SettleQueue, type SettleItem } from './settle-queue.js';
import { Upkeep } from './upkeep.js';

export interface ProcessorSettings {
  /** handler calls in flight at once, over every partition served */
  concurrency: number;
  /** most messages claimed per call */
  batchSize: number;
  /** a processor not heard from for this long loses its claims to the others */
  claimLeaseMs: number;
  /** how often it says it is alive (and reconciles its claims) where it holds claims */
  claimRenewMs: number;
  handlerTimeoutMs: number;
  maxRetries: number;
  maxAgeMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** strict pipelines: seqs this far or further ahead of next are parked, not claimed (0 = no limit) */
  window: number;
  shutdownGraceMs: number;
  /** how often an idle partition is looked at without a wake-up (scaled up with the partitions served) */
  idlePollMs?: number;
}

export interface ProcessorParts {
  /** commands: claims, settles, heartbeats */
  redis: RedisClient;
  /** a connection of its own for wake-ups (Pub/Sub) */
  subscriber: RedisClient;
  handler: Handler;
  settings: ProcessorSettings;
  logger: Logger;
  owner?: string;
  /** wall clock for the envelopes' timestamps */
  clock?: Clock;
  random?: () => number;
}

export interface ProcessorStats {
  claimed: number;
  completed: number;
  retried: number;
  deadLettered: number;
  malformed: number;
  duplicates: number;
  conflicts: number;
  stale: number;
  abandoned: number;
  reaped: number;
  parked: number;
}

type State = 'idle' | 'running' | 'stopping' | 'stopped';

const REDIS_RETRY_MS = 250;
const DEFAULT_IDLE_POLL_MS = 250;
/** An idle process polls at most this many partitions a second. */
const IDLE_POLLS_PER_SECOND = 200;

/**
 * Claims messages from every partition it serves under one concurrency limit, runs the handler,
 * and settles each attempt in batched Lua calls. Partitions with work take turns, so a busy one
 * cannot starve the others; idle ones wait for a wake-up on one shared subscriber connection, or
 * their next poll. Two Redis connections, however many partitions.
 */
export class Processor {
  readonly stats: ProcessorStats = {
    claimed: 0, completed: 0, retried: 0, deadLettered: 0, malformed: 0, duplicates: 0, conflicts: 0, stale: 0, abandoned: 0, reaped: 0, parked: 0,
  };
  readonly owner: string;
  private state: State = 'idle';
  private inFlight = 0;
  private claimCounter = 0;
  private turn = 0;
  private readonly works = new Map<string, PartitionWork>();
  private readonly bell = new Doorbell();
  private readonly abort = new AbortController();
  private readonly attemptParts: AttemptParts;
  private readonly wake: WakeListener;
  private readonly upkeep: Upkeep;
  private claimLoopDone: Promise<void> = Promise.resolve();

  constructor(private readonly parts: ProcessorParts) {
    this.owner = parts.owner ?? instanceId;
    // Claim tokens are "owner:n": the scripts find an owner's claims by that prefix.
    if (!/^[A-Za-z0-9_.-]{1,100}$/.test(this.owner)) throw new RangeError(`processor owner id ${JSON.stringify(this.owner)} must be 1-100 of A-Z a-z 0-9 _ . -`);
    const clock = parts.clock ?? systemClock;
    this.attemptParts = { handler: parts.handler, settings: parts.settings, logger: parts.logger, clock, random: parts.random ?? Math.random };
    this.wake = new WakeListener(parts.subscriber, parts.logger);
    this.upkeep = new Upkeep(this.owner, parts.settings, parts.logger, (batch, reason, release) => this.giveUp(batch, reason, release));
  }

  get running(): boolean {
    return this.state === 'running';
  }

  get inFlightCount(): number {
    return this.inFlight;
  }

  /** The tags of the partitions served. */
  get served(): string[] {
    return [...this.works.keys()];
  }

  /** Starts serving a partition (initialising it in Redis); serving it twice changes nothing. */
  async serve(partition: Partition): Promise<void> {
    if (this.works.has(partition.tag) || this.state === 'stopping' || this.state === 'stopped') return;
    await partition.init();
    const logger = this.parts.logger.child({ pipeline: partition.pipeline, partition: partition.partition });
    const work = new PartitionWork(partition, logger, (w) => new SettleQueue(partition, logger, (item, ok) => this.written(w, item, ok)));
    this.works.set(partition.tag, work);
    this.wake.on(wakeChannels(partition.prefix).input, partition.tag, () => {
      work.wakeGen++;
      work.idle = false;
      this.bell.ring();
    });
    this.bell.ring();
  }

  /** Stops claiming from a partition; its claims in flight finish and are written. */
  unserve(tag: string): void {
    const work = this.works.get(tag);
    if (!work) return;
    this.wake.off(wakeChannels(work.partition.prefix).input, tag);
    this.works.delete(tag);
    this.upkeep.retire(work);
  }

  async start(): Promise<void> {
    if (this.state !== 'idle') throw new Error(`processor cannot start from state ${this.state}`);
    this.state = 'running';
    this.upkeep.start(() => this.works.values());
    this.claimLoopDone = this.claimLoop();
    this.parts.logger.info('processor started', { event: 'started', owner: this.owner, concurrency: this.parts.settings.concurrency, partitions: this.served });
  }

  /**
   * Stops claiming, lets in-flight handlers finish for up to `shutdownGraceMs`, writes their
   * results, and gives every claim still open back to the input (without counting the attempt).
   */
  async stop(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    this.abort.abort();
    this.bell.ring();
    await this.claimLoopDone;
    const deadline = performance.now() + this.parts.settings.shutdownGraceMs;
    while (this.inFlight > 0 && performance.now() < deadline) await this.bell.wait(Math.min(50, deadline - performance.now()));
    const works = [...this.works.values(), ...this.upkeep.retired()];
    const open = new Map(works.map((work) => [work, [...work.claims.keys()]]));
    for (const work of works) for (const batch of work.batches()) this.giveUp(batch, new Error('processor shutting down'), false);
    await this.upkeep.stop();
    let returned = 0;
    for (const work of works) {
      await work.settle.drain();
      try {
        returned += await work.partition.release(open.get(work) ?? [], this.owner);
      } catch (error) {
        work.logger.warn('returning claims at shutdown failed; they return when the lease lapses', { error: String(error) });
      }
    }
    this.wake.stop();
    this.state = 'stopped';
    this.parts.logger.info('processor stopped', { event: 'stopped', returned, stats: this.stats });
  }

  private async claimLoop(): Promise<void> {
    const { settings } = this.parts;
    while (this.state === 'running') {
      const free = settings.concurrency - this.inFlight;
      if (free <= 0) {
        await this.bell.wait();
        continue;
      }
      const ready = this.readyWorks();
      if (ready.length === 0) {
        await this.bell.wait(this.msUntilNextLook());
        continue;
      }
      const work = ready[this.turn++ % ready.length]!;
      await this.claimFrom(work, Math.min(free, settings.batchSize, Math.ceil(free / ready.length)));
    }
  }

  private readyWorks(): PartitionWork[] {
    const now = performance.now();
    const ready: PartitionWork[] = [];
    for (const work of this.works.values()) if (!work.idle || work.readyAt <= now) ready.push(work);
    return ready;
  }

  private msUntilNextLook(): number {
    let soonest = Infinity;
    for (const work of this.works.values()) soonest = Math.min(soonest, work.readyAt);
    return soonest === Infinity ? 1000 : Math.max(1, soonest - performance.now());
  }

  private pollMs(): number {
    const base = this.parts.settings.idlePollMs ?? DEFAULT_IDLE_POLL_MS;
    return Math.max(base, Math.ceil((this.works.size * 1000) / IDLE_POLLS_PER_SECOND));
  }

  private async claimFrom(work: PartitionWork, count: number): Promise<void> {
    const { settings } = this.parts;
    const token = `${this.owner}:${(++this.claimCounter).toString(36)}`;
    work.claims.set(token, 'claiming');
    const gen = work.wakeGen;
    const sentAt = performance.now();
    let result: ClaimResult;
    try {
      result = await work.partition.claim({
        count, token, owner: this.owner, leaseMs: settings.claimLeaseMs, window: settings.window, floor: work.highestClaimed,
      });
    } catch (error) {
      work.claims.delete(token);
      if (this.state !== 'running') return;
      this.logFor(work).warn('claim failed; retrying', { event: 'claim-failed', error: String(error) });
      await delay(REDIS_RETRY_MS, this.abort.signal);
      return;
    }
    this.noteDropped(work, result.dropped);
    if (result.reaped > 0) {
      this.stats.reaped += result.reaped;
      this.logFor(work).warn('returned the claims of a processor that stopped beating', { event: 'claims-reaped', seqs: result.reaped });
    }
    this.stats.parked += result.parked;
    if (result.claimed.length > 0) {
      work.lastBeatAt = sentAt;
      this.startBatch(work, token, result.claimed, result.now);
      return;
    }
    work.claims.delete(token);
    if (result.parked === 0 && result.dropped.length === 0 && !result.replayed && work.wakeGen === gen) {
      work.idle = true;
      work.readyAt = performance.now() + Math.min(this.pollMs(), result.dueInMs ?? Infinity);
    }
  }

  private noteDropped(work: PartitionWork, dropped: Dropped[]): void {
    for (const d of dropped) {
      if (d.kind === 'held') {
        work.logger.info('copy held until the claim of its seq is judged', { event: 'copy-held', seq: d.seq, detail: d.reason });
        continue;
      }
      if (d.kind === 'duplicate') this.stats.duplicates++;
      else if (d.kind === 'conflict') this.stats.conflicts++;
      else this.stats.deadLettered++;
      work.logger.warn(d.kind === 'duplicate' ? 'duplicate dropped' : `dead-lettered at claim: ${d.kind}`, {
        event: d.kind === 'duplicate' ? 'duplicate-dropped' : 'dead-lettered', reason: d.kind, seq: d.seq, detail: d.reason,
      });
    }
  }

  private startBatch(work: PartitionWork, token: string, claimed: Claimed[], redisAt: number): void {
    const batch = newBatch(work, token, claimed, redisAt, performance.now());
    const { handlerTimeoutMs } = this.parts.settings;
    batch.timeout = setTimeout(() => abortBatch(batch, new HandlerTimeoutError(handlerTimeoutMs)), handlerTimeoutMs);
    work.claims.set(token, batch);
    this.stats.claimed += claimed.length;
    for (const c of claimed) if (c.seq > work.highestClaimed) work.highestClaimed = c.seq;
    this.inFlight += claimed.length;
    for (const item of claimed) void this.runOne(batch, item);
  }

  private async runOne(batch: ClaimBatch, claimed: Claimed): Promise<void> {
    const outcome = await runAttempt(this.attemptParts, {
      claimed,
      signal: batch.controller.signal,
      redisNow: () => batch.redisAt + (performance.now() - batch.claimedAt),
      track: (reject) => {
        batch.running.add(reject);
        return () => batch.running.delete(reject);
      },
    });
    this.finish(batch, claimed, outcome);
  }

  private finish(batch: ClaimBatch, claimed: Claimed, outcome: Outcome): void {
    this.inFlight--;
    batch.open--;
    const { work } = batch;
    if (outcome.action === 'abandoned' || batch.gone) {
      batch.abandoned++;
      this.stats.abandoned++;
    } else {
      batch.unsettled++;
      work.settle.push(settleItem(claimed.seq, batch.token, outcome));
      if (outcome.action === 'retry') work.readyAt = Math.min(work.readyAt, performance.now() + outcome.delayMs);
      if (outcome.action !== 'complete') this.logOutcome(work, claimed, outcome);
    }
    if (batch.open === 0) clearTimeout(batch.timeout);
    this.closeIfDone(batch);
    this.bell.ring();
  }

  private written(work: PartitionWork, item: SettleItem, ok: boolean): void {
    const batch = work.claims.get(item.token);
    if (!ok) {
      this.stats.stale++;
      this.logFor(work).warn('claim no longer ours; attempt result discarded', { event: 'stale-settle', seq: item.seq });
    } else if (!('action' in item)) this.stats.completed++;
    else if (item.action === 'retry') this.stats.retried++;
    else if (item.action === 'malformed') this.stats.malformed++;
    else this.stats.deadLettered++;
    if (batch && batch !== 'claiming') {
      batch.unsettled--;
      this.closeIfDone(batch);
    }
  }

  /** Forgets a batch once every attempt ended and every write was answered. */
  private closeIfDone(batch: ClaimBatch): void {
    if (batch.open > 0 || batch.unsettled > 0 || batch.work.claims.get(batch.token) !== batch) return;
    batch.work.claims.delete(batch.token);
    if (batch.abandoned > 0 && batch.releaseOnClose) {
      batch.work.partition.release([batch.token]).catch((error: unknown) => {
        this.logFor(batch.work).warn('returning an abandoned claim failed; it returns when the lease lapses', { error: String(error) });
      });
    }
  }

  /** Stops a batch's work: its results are not written. `release`: give the claim back when it closes. */
  private giveUp(batch: ClaimBatch, reason: Error, release: boolean): void {
    if (batch.gone) return;
    batch.gone = true;
    batch.releaseOnClose = release;
    if (this.state === 'running') {
      this.logFor(batch.work).warn(reason.message, { event: 'claim-lost', token: batch.token, running: batch.running.size });
    }
    abortBatch(batch, reason);
    this.closeIfDone(batch);
  }

  private logOutcome(work: PartitionWork, claimed: Claimed, outcome: Exclude<Outcome, { action: 'complete' | 'abandoned' }>): void {
    const log = this.logFor(work);
    if (outcome.action === 'retry') {
      log.info('attempt failed; retry scheduled', { event: 'retry-scheduled', seq: claimed.seq, attempts: claimed.attempts, delayMs: outcome.delayMs, error: outcome.error });
    } else {
      const reason = outcome.action === 'malformed' ? 'malformed' : outcome.reason;
      log.warn(`dead-lettered: ${reason}`, { event: 'dead-lettered', reason, seq: claimed.seq, attempts: claimed.attempts, error: outcome.error });
    }
  }

  private logFor(work: PartitionWork): Logger {
    return work.logger;
  }
}

function settleItem(seq: number, token: string, outcome: Exclude<Outcome, { action: 'abandoned' }>): SettleItem {
  switch (outcome.action) {
    case 'complete':
      return { seq, token, body: outcome.body };
    case 'retry':
      return { seq, token, action: 'retry', delayMs: outcome.delayMs, body: outcome.body };
    default:
      return { seq, token, action: outcome.action, body: outcome.body };
  }
}
