import { setMaxListeners } from 'node:events';
import type { RedisClient } from './redis.js';
import { backoffMs } from './backoff.js';
import { parseEnvelope, serializeEnvelope, type DeadLetter, type DeadLetterReason, type Envelope } from './envelope.js';
import { HandlerTimeoutError } from './errors.js';
import type { Handler } from './handler.js';
import { instanceId, type Logger } from './logger.js';
import type { Claimed, ClaimResult, Partition } from './partition.js';
import { SettleQueue } from './settle-queue.js';
import { delay, systemClock, type Clock } from './time.js';

export interface ProcessorSettings {
  concurrency: number;
  batchSize: number;
  claimLeaseMs: number;
  claimRenewMs: number;
  handlerTimeoutMs: number;
  maxRetries: number;
  maxAgeMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  window: number;
  shutdownGraceMs: number;
}

export interface ProcessorParts {
  partition: Partition;
  /** a connection of its own: blocking waits for input run on it */
  blocking: RedisClient;
  handler: Handler;
  settings: ProcessorSettings;
  logger: Logger;
  owner?: string;
  clock?: Clock;
  random?: () => number;
}

export interface ProcessorStats {
  claimed: number;
  completed: number;
  retried: number;
  deadLettered: number;
  duplicates: number;
  stale: number;
  reaped: number;
}

/**
 * One claim: the seqs claimed under one token share a lease, a start time and so a timeout
 * deadline, and one abort signal (timeout, lost lease, shutdown).
 */
interface ClaimBatch {
  token: string;
  remaining: number;
  /** when the lease was last confirmed (claim or renewal) */
  confirmedAt: number;
  controller: AbortController;
  /** rejects the attempts still running when the batch is aborted */
  running: Set<(reason: Error) => void>;
  timeout: NodeJS.Timeout;
  /** returned to the input on shutdown, or reaped by another processor: results are discarded */
  gone: boolean;
}

type State = 'idle' | 'running' | 'stopping' | 'stopped';

const WAIT_FOR_INPUT_S = 1;
const BACKPRESSURE_POLL_MS = 50;
const REDIS_RETRY_MS = 250;
const MAINTENANCE_LIMIT = 100;

/**
 * Claims batches from one partition, runs the handler with up to `concurrency` messages in
 * flight, and settles each attempt (complete, retry or dead letter) in batched Lua calls.
 */
export class Processor {
  readonly stats: ProcessorStats = { claimed: 0, completed: 0, retried: 0, deadLettered: 0, duplicates: 0, stale: 0, reaped: 0 };
  private state: State = 'idle';
  private inFlight = 0;
  private claimCounter = 0;
  private readonly batches = new Map<string, ClaimBatch>();
  private readonly abort = new AbortController();
  private readonly settle: SettleQueue;
  private readonly owner: string;
  private readonly clock: Clock;
  private readonly random: () => number;
  private slotWaiters: Array<() => void> = [];
  private timers: NodeJS.Timeout[] = [];
  private promoteTimer: NodeJS.Timeout | undefined;
  private promoteAt = Infinity;
  private claimLoopDone: Promise<void> = Promise.resolve();

  constructor(private readonly parts: ProcessorParts) {
    this.owner = parts.owner ?? instanceId;
    this.clock = parts.clock ?? systemClock;
    this.random = parts.random ?? Math.random;
    this.settle = new SettleQueue(parts.partition, parts.logger, (kind, ok) => this.count(kind, ok));
  }

  get running(): boolean {
    return this.state === 'running';
  }

  get inFlightCount(): number {
    return this.inFlight;
  }

  async start(): Promise<void> {
    if (this.state !== 'idle') throw new Error(`processor cannot start from state ${this.state}`);
    await this.parts.partition.init();
    this.state = 'running';
    const { claimRenewMs } = this.parts.settings;
    this.timers.push(setInterval(() => void this.renew(), claimRenewMs));
    this.timers.push(setInterval(() => void this.reap(), claimRenewMs));
    this.schedulePromote(this.clock());
    this.claimLoopDone = this.claimLoop();
    this.parts.logger.info('processor started', { owner: this.owner, concurrency: this.parts.settings.concurrency });
  }

  /**
   * Stops claiming, lets in-flight handlers finish for up to `shutdownGraceMs`, returns the
   * claims still open to the input (without counting the attempt), and flushes every result.
   */
  async stop(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    this.abort.abort();
    this.parts.blocking.disconnect();
    this.wakeSlotWaiters();
    await this.claimLoopDone;
    const deadline = this.clock() + this.parts.settings.shutdownGraceMs;
    while (this.inFlight > 0 && this.clock() < deadline) {
      await Promise.race([this.slotFreed(), delay(50)]);
    }
    const open = [...this.batches.values()];
    for (const batch of open) {
      batch.gone = true;
      this.abortBatch(batch, new Error('processor shutting down'));
    }
    await this.settle.drain();
    if (open.length > 0) {
      const seqs = await this.parts.partition.release(open.map((b) => b.token));
      this.parts.logger.info('returned open claims to the input', { seqs });
    }
    this.batches.clear();
    for (const timer of this.timers) clearInterval(timer);
    for (const batch of open) clearTimeout(batch.timeout);
    clearTimeout(this.promoteTimer);
    this.state = 'stopped';
    this.parts.logger.info('processor stopped', { stats: this.stats });
  }

  private async claimLoop(): Promise<void> {
    const { partition, settings, logger } = this.parts;
    while (this.state === 'running') {
      const free = settings.concurrency - this.inFlight;
      if (free <= 0) {
        await this.slotFreed();
        continue;
      }
      const token = `${this.owner}:${(++this.claimCounter).toString(36)}`;
      let result: ClaimResult;
      try {
        result = await partition.claim(Math.min(free, settings.batchSize), token, this.clock(), settings.claimLeaseMs, settings.window);
      } catch (error) {
        if (this.state !== 'running') break;
        logger.warn('claim failed; retrying', { error: String(error) });
        await delay(REDIS_RETRY_MS, this.abort.signal);
        continue;
      }
      for (const d of result.dropped) {
        if (d.kind === 'duplicate') this.stats.duplicates++;
        else this.stats.deadLettered++;
        logger.warn(d.kind === 'duplicate' ? 'duplicate dropped' : `dead-lettered at claim: ${d.kind}`, { seq: d.seq, state: d.state });
      }
      if (result.claimed.length > 0) {
        this.startBatch(token, result.claimed);
      } else if (result.blocked) {
        await delay(BACKPRESSURE_POLL_MS, this.abort.signal);
      } else if (result.dropped.length === 0 && !result.replayed) {
        await this.waitForInput();
      }
    }
  }

  /** Blocks until there is input (a list rotation onto itself moves nothing). */
  private async waitForInput(): Promise<void> {
    const list = this.parts.partition.waitKey;
    try {
      await this.parts.blocking.blmove(list, list, 'LEFT', 'LEFT', WAIT_FOR_INPUT_S);
    } catch (error) {
      if (this.state === 'running') {
        this.parts.logger.warn('waiting for input failed; retrying', { error: String(error) });
        await delay(REDIS_RETRY_MS, this.abort.signal);
      }
    }
  }

  private startBatch(token: string, claimed: Claimed[]): void {
    const { handlerTimeoutMs } = this.parts.settings;
    const batch: ClaimBatch = {
      token, remaining: claimed.length, confirmedAt: this.clock(), controller: new AbortController(), running: new Set(), gone: false,
      timeout: setTimeout(() => this.abortBatch(batch, new HandlerTimeoutError(handlerTimeoutMs)), handlerTimeoutMs),
    };
    // Every handler of the batch may listen to its one signal.
    setMaxListeners(0, batch.controller.signal);
    this.batches.set(token, batch);
    this.stats.claimed += claimed.length;
    this.inFlight += claimed.length;
    for (const item of claimed) void this.run(batch, item);
  }

  private async run(batch: ClaimBatch, claimed: Claimed): Promise<void> {
    const { settings, logger } = this.parts;
    const log = (): Logger => logger.child({ seq: claimed.seq });
    let envelope: Envelope;
    try {
      envelope = parseEnvelope(claimed.raw);
    } catch (error) {
      log().warn('malformed envelope dead-lettered', { error: (error as Error).message });
      const record: DeadLetter = { seq: claimed.seq, reason: 'malformed', attempts: claimed.attempts, lastError: (error as Error).message, raw: claimed.raw, deadAt: this.clock() };
      return this.finish(batch, { seq: claimed.seq, token: batch.token, action: 'dead', body: JSON.stringify(record) });
    }
    const previous = this.exhausted(envelope, claimed.attempts - 1);
    if (claimed.attempts > 1 && previous) {
      log().warn('claimed past its limits after lost attempts; dead-lettered', { reason: previous, attempts: claimed.attempts });
      return this.deadLetter(batch, envelope, claimed, previous, envelope.lastError ?? 'attempt lost (processor died or claim expired)');
    }

    const processingAt = this.clock();
    try {
      const result = await this.invoke(batch, envelope, claimed.attempts, log);
      const output = { ...envelope, attempts: claimed.attempts, lastError: undefined, processingAt, processedAt: this.clock(), result };
      this.finish(batch, { seq: claimed.seq, token: batch.token, body: serializeEnvelope(output) });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const reason = this.exhausted(envelope, claimed.attempts);
      if (reason) {
        log().warn('attempt failed; dead-lettered', { reason, attempts: claimed.attempts, error: message });
        this.deadLetter(batch, { ...envelope, processingAt }, claimed, reason, message);
      } else {
        const dueAt = this.clock() + backoffMs(claimed.attempts, settings.backoffBaseMs, settings.backoffMaxMs, this.random);
        log().info('attempt failed; retry scheduled', { attempts: claimed.attempts, dueAt, error: message });
        const next = { ...envelope, attempts: claimed.attempts, lastError: message, processingAt };
        this.finish(batch, { seq: claimed.seq, token: batch.token, action: 'retry', dueAt, body: serializeEnvelope(next) });
        this.schedulePromote(dueAt);
      }
    }
  }

  /**
   * Runs the handler once. A throw or rejection fails the attempt, and so does the batch's
   * signal (timeout, lost claim, shutdown): the attempt ends then, even if the handler goes on.
   */
  private invoke(batch: ClaimBatch, envelope: Envelope, attempt: number, log: () => Logger): Promise<unknown> {
    const { signal } = batch.controller;
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<unknown>((resolve, reject) => {
      batch.running.add(reject);
      Promise.resolve()
        .then(() => this.parts.handler(envelope.payload, { seq: envelope.seq, attempt, signal, envelope, get logger() { return log(); } }))
        .then(
          (value) => {
            if (!batch.running.delete(reject)) log().warn('handler finished after its attempt ended; result discarded');
            resolve(value);
          },
          (error: unknown) => {
            batch.running.delete(reject);
            reject(error);
          },
        );
    });
  }

  private abortBatch(batch: ClaimBatch, reason: Error): void {
    if (!batch.controller.signal.aborted) batch.controller.abort(reason);
    const running = [...batch.running];
    batch.running.clear();
    for (const reject of running) reject(reason);
  }

  /** Which limit a seq has reached after `failures` failed attempts, if any. */
  private exhausted(envelope: Envelope, failures: number): DeadLetterReason | undefined {
    const { settings } = this.parts;
    const maxRetries = envelope.maxRetries ?? settings.maxRetries;
    const maxAgeMs = envelope.maxAgeMs ?? settings.maxAgeMs;
    if (maxRetries !== -1 && failures > maxRetries) return 'max-retries';
    if (maxAgeMs !== -1 && failures > 0 && this.clock() - envelope.createdAt > maxAgeMs) return 'max-age';
    return undefined;
  }

  private deadLetter(batch: ClaimBatch, envelope: Envelope, claimed: Claimed, reason: DeadLetterReason, lastError: string): void {
    const record: DeadLetter = {
      seq: claimed.seq,
      reason,
      attempts: claimed.attempts,
      lastError,
      envelope: { ...envelope, attempts: claimed.attempts, lastError },
      deadAt: this.clock(),
    };
    this.finish(batch, { seq: claimed.seq, token: batch.token, action: 'dead', body: JSON.stringify(record) });
  }

  private finish(batch: ClaimBatch, item: Parameters<SettleQueue['push']>[0]): void {
    this.inFlight--;
    batch.remaining--;
    const last = batch.remaining === 0;
    if (last) {
      clearTimeout(batch.timeout);
      this.batches.delete(batch.token);
    }
    if (!batch.gone) this.settle.push(item, last ? batch.token : undefined);
    else this.stats.stale++;
    this.wakeSlotWaiters();
  }

  private count(kind: 'complete' | 'retry' | 'dead', ok: boolean): void {
    if (!ok) this.stats.stale++;
    else if (kind === 'complete') this.stats.completed++;
    else if (kind === 'retry') this.stats.retried++;
    else this.stats.deadLettered++;
  }

  private slotFreed(): Promise<void> {
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  private wakeSlotWaiters(): void {
    const waiters = this.slotWaiters;
    this.slotWaiters = [];
    // Let the other handlers finishing in this turn free their slots too, so the next claim
    // takes them together.
    if (waiters.length > 0) setImmediate(() => waiters.forEach((w) => w()));
  }

  private async renew(): Promise<void> {
    const { partition, settings, logger } = this.parts;
    const now = this.clock();
    const batches = [...this.batches.values()].filter((b) => !b.gone);
    try {
      const lost = new Set(await partition.renew(batches.map((b) => b.token), now + settings.claimLeaseMs));
      for (const batch of batches) {
        if (lost.has(batch.token)) this.giveUp(batch, 'claim lost: its lease was reaped');
        else batch.confirmedAt = now;
      }
    } catch (error) {
      logger.warn('lease renewal failed', { error: String(error) });
      // A claim whose lease may have expired may already be someone else's: stop its work.
      for (const batch of batches) {
        if (this.clock() - batch.confirmedAt >= settings.claimLeaseMs) this.giveUp(batch, 'claim lost: lease not renewed in time');
      }
    }
  }

  private giveUp(batch: ClaimBatch, reason: string): void {
    if (batch.gone) return;
    batch.gone = true;
    this.parts.logger.warn(reason, { token: batch.token, inFlight: batch.running.size });
    this.abortBatch(batch, new Error(reason));
  }

  private async reap(): Promise<void> {
    try {
      const { seqs } = await this.parts.partition.reap(this.clock(), MAINTENANCE_LIMIT);
      if (seqs > 0) {
        this.stats.reaped += seqs;
        this.parts.logger.warn('reaped expired claims', { seqs });
      }
    } catch (error) {
      this.parts.logger.warn('reaping failed', { error: String(error) });
    }
  }

  /** Wakes at `at` (or within a second) to move due retries to the input. */
  private schedulePromote(at: number): void {
    if (this.state === 'stopped' || at >= this.promoteAt) return;
    clearTimeout(this.promoteTimer);
    this.promoteAt = at;
    this.promoteTimer = setTimeout(() => void this.promote(), Math.max(0, at - this.clock()));
  }

  private async promote(): Promise<void> {
    this.promoteAt = Infinity;
    let nextDue: number | undefined;
    try {
      ({ nextDue } = await this.parts.partition.promote(this.clock(), MAINTENANCE_LIMIT * 5));
    } catch (error) {
      this.parts.logger.warn('promoting retries failed', { error: String(error) });
    }
    if (this.state === 'running') this.schedulePromote(Math.min(nextDue ?? Infinity, this.clock() + 1000));
  }
}
