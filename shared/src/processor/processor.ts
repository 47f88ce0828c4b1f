import { performance } from 'node:perf_hooks';
import type { Handler } from '../handler.js';
import { instanceId, type Logger } from '../logger.js';
import type { Claimed, ClaimResult, Partition } from '../partition/partition.js';
import type { RedisClient } from '../redis.js';
import { delay, systemClock, type Clock } from '../time.js';
import { WakeListener } from '../wake.js';
import { wakeChannels } from '../partition/keys.js';
import {
  PartitionWork,
  abortPart,
  closeIfDone,
  msUntilNextLook,
  newBatch,
  ownerId,
  pollMs,
  readyWorks,
  returnClaims,
  running,
  summarise,
  type ClaimBatch,
} from './claim-batch.js';
import { Doorbell } from './doorbell.js';
import { HandlerSlots } from './handler-slots.js';
import { SettleQueue, type SettleItem } from './settle-queue.js';
import { Upkeep } from './upkeep.js';
import { PartitionTelemetry, newStats, type ProcessorStats } from './outcomes.js';
import { Telemetry } from '../telemetry/telemetry.js';
import type { ProcessorSettings } from '../config/services.js';

export type { ProcessorStats } from './outcomes.js';
export type { ProcessorSettings } from '../config/services.js';

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
  /** where its events, metrics and log lines go (default: its own, with a private registry) */
  telemetry?: Telemetry;
}

type State = 'idle' | 'running' | 'stopping' | 'stopped';

const REDIS_RETRY_MS = 250;
/** How often each partition's summary line is written (info) and its gauges are read. */
const SUMMARY_EVERY_MS = 10_000;

/**
 * Claims messages from every partition it serves under one concurrency limit, runs the handler,
 * and settles each attempt in batched Lua calls. Partitions with work take turns, so a busy one
 * cannot starve the others; idle ones wait for a wake-up on one shared subscriber connection, or
 * their next poll. Two Redis connections, however many partitions.
 */
export class Processor {
  readonly stats: ProcessorStats = newStats();
  readonly owner: string;
  private state: State = 'idle';
  private claimCounter = 0;
  private turn = 0;
  private readonly works = new Map<string, PartitionWork>();
  private readonly bell = new Doorbell();
  private readonly abort = new AbortController();
  private readonly slots: HandlerSlots;
  private readonly wake: WakeListener;
  private readonly upkeep: Upkeep;
  private claimLoopDone: Promise<void> = Promise.resolve();
  private summaryTimer: NodeJS.Timeout | undefined;
  readonly telemetry: Telemetry;

  constructor(private readonly parts: ProcessorParts) {
    this.telemetry = parts.telemetry ?? new Telemetry();
    this.owner = ownerId(parts.owner ?? instanceId);
    const attemptParts = {
      handler: parts.handler,
      settings: parts.settings,
      logger: parts.logger,
      clock: parts.clock ?? systemClock,
      random: parts.random ?? Math.random,
    };
    this.slots = new HandlerSlots(parts.settings, attemptParts, this.stats, this.bell, (batch, reason, release) =>
      this.giveUp(batch, reason, release),
    );
    this.wake = new WakeListener(parts.subscriber, parts.logger);
    this.upkeep = new Upkeep(this.owner, parts.settings, parts.logger, (batch, reason, release) => this.giveUp(batch, reason, release));
  }

  get running(): boolean {
    return this.state === 'running';
  }

  get inFlightCount(): number {
    return this.slots.inFlight;
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
    const scope = { logger, pipeline: partition.pipeline, partition: partition.partition };
    const tell = new PartitionTelemetry(this.telemetry, scope, this.stats);
    const work = new PartitionWork(partition, tell, (w) => new SettleQueue(partition, logger, (item, ok) => this.written(w, item, ok)));
    this.works.set(partition.tag, work);
    this.wake.on(wakeChannels(partition.prefix).input, partition.tag, () => work.woken(this.bell));
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
    this.summaryTimer = setInterval(() => void summarise(this.works.values(), SUMMARY_EVERY_MS), SUMMARY_EVERY_MS);
    this.telemetry.note({ logger: this.parts.logger }, 'info', 'processor started', 'started', {
      owner: this.owner,
      concurrency: this.parts.settings.concurrency,
      partitions: this.served,
    });
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
    // Nothing waiting starts now: it goes back to the input with the claims at the end.
    for (const work of this.works.values()) for (const batch of work.batches()) this.slots.dropWaiting(batch);
    const deadline = performance.now() + this.parts.settings.shutdownGraceMs;
    while (this.slots.inFlight > 0 && performance.now() < deadline) await this.bell.wait(Math.min(50, deadline - performance.now()));
    const works = [...this.works.values(), ...this.upkeep.retired()];
    const open = new Map(works.map((work) => [work, [...work.claims.keys()]]));
    for (const work of works) for (const batch of work.batches()) this.giveUp(batch, new Error('processor shutting down'), false);
    await this.upkeep.stop();
    const returned = await returnClaims(works, open, this.owner);
    this.wake.stop();
    clearInterval(this.summaryTimer);
    this.state = 'stopped';
    this.telemetry.note({ logger: this.parts.logger }, 'info', 'processor stopped', 'stopped', { returned, stats: this.stats });
  }

  private async claimLoop(): Promise<void> {
    const { settings } = this.parts;
    while (this.state === 'running') {
      const free = this.slots.free;
      if (free > 0 && this.slots.prefetch.size > 0) {
        this.slots.startWaiting(free);
        continue;
      }
      // Claim for the free slots, and ahead of them for the ones about to free.
      const room = Math.max(0, free) + this.slots.prefetch.room();
      if (room <= 0) {
        await this.bell.wait();
        continue;
      }
      const ready = readyWorks(this.works.values());
      if (ready.length === 0) {
        await this.bell.wait(msUntilNextLook(this.works.values()));
        continue;
      }
      const work = ready[this.turn++ % ready.length]!;
      // A share of the room, or what the slots finish in 10 ms if more: a turn costs others ~10 ms.
      await this.claimFrom(work, Math.min(room, settings.batchSize, Math.max(Math.ceil(room / ready.length), this.slots.prefetch.depth())));
    }
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
        count,
        token,
        owner: this.owner,
        leaseMs: settings.claimLeaseMs,
        window: settings.window,
        floor: work.highestClaimed,
      });
    } catch (error) {
      work.claims.delete(token);
      if (this.state !== 'running') return;
      work.logger.warn('claim failed; retrying', { event: 'claim-failed', error: String(error) });
      await delay(REDIS_RETRY_MS, this.abort.signal);
      return;
    }
    work.tell.dropped(result.dropped);
    if (result.reaped > 0) work.tell.reaped(result.reaped);
    this.stats.parked += result.parked;
    if (result.claimed.length > 0) {
      work.lastBeatAt = work.lastClaimedAt = sentAt;
      this.startBatch(work, token, result.claimed, result.now);
      return;
    }
    work.claims.delete(token);
    if (result.parked === 0 && result.dropped.length === 0 && !result.replayed && work.wakeGen === gen) {
      work.idle = true;
      work.readyAt = performance.now() + Math.min(pollMs(this.works.size, this.parts.settings.idlePollMs), result.dueInMs ?? Infinity);
    }
  }

  private startBatch(work: PartitionWork, token: string, claimed: Claimed[], redisAt: number): void {
    const batch = newBatch(work, token, claimed, redisAt, performance.now());
    work.claims.set(token, batch);
    work.tell.claimed(claimed);
    for (const c of claimed) if (c.seq > work.highestClaimed) work.highestClaimed = c.seq;
    this.slots.add(batch);
  }

  private written(work: PartitionWork, item: SettleItem, ok: boolean): void {
    const batch = work.claims.get(item.token);
    work.tell.written(item, ok);
    if (batch && batch !== 'claiming') {
      batch.unsettled--;
      closeIfDone(batch);
    }
  }

  /** Stops a batch's work: its results are not written. `release`: give the claim back when it closes. */
  private giveUp(batch: ClaimBatch, reason: Error, release: boolean): void {
    if (batch.gone) return;
    batch.gone = true;
    batch.releaseOnClose = release;
    if (this.state === 'running') batch.work.tell.lost(reason.message, batch.token, running(batch));
    for (const part of batch.parts) abortPart(part, reason);
    this.slots.dropWaiting(batch);
    closeIfDone(batch);
  }
}
