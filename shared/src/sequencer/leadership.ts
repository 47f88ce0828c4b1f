import { performance } from 'node:perf_hooks';
import { FencedError, InorderError, LeaseLostError } from '../errors.js';
import type { Probe, RunStretch, SettledEntry } from '../partition/partition.js';
import { Doorbell } from '../processor/doorbell.js';
import type { LeadershipParts } from './leadership-parts.js';
import { ReorderBuffer, type RunItem, type StreamEntry } from './reorder-buffer.js';
import { stallReason, type Stall } from './stall.js';

export type { SequencerSettings } from '../config/services.js';
export type { LeadershipParts, PartitionMemory, SequencerStats } from './leadership-parts.js';

/** Margin kept between the last emit and the lease's expiry, for clock drift and the call. */
const LEASE_MARGIN_MS = 100;
const READ_COUNT = 1000;
/** Most seqs one emit skips; a longer gap takes several emits. */
const MAX_SKIP = 10_000;
const STALL_DEFAULT_MS = 30_000;

/** Redis's state went back in time under this leader (a restore or a failover to a lagging replica). */
class ResyncError extends InorderError {}

/**
 * One partition led by this process: takes a fence, rebuilds its reorder buffer from the
 * results stream, and emits contiguous runs through emit.lua (which refuses any caller whose
 * fence is no longer current) until its lease ends. When `next` moves under it (Redis rolled
 * back), it starts again as a new leader would; a seq that holds the order for GAP_TIMEOUT_MS
 * with nothing knowing it is skipped, with every missing seq after it up to the next known one.
 */
export class Leadership {
  private readonly bell = new Doorbell();
  private buffer = new ReorderBuffer(1);
  private fence = '';
  private lastId = '0-0';
  private startedAt = 0;
  private firstEmit = true;
  /** monotonic ms: when next last moved, when the current wait for it began, when it was last probed */
  private movedAt = 0;
  private waitingSince: number | undefined;
  private probedAt = -Infinity;
  private probe: Probe | undefined;
  private stallLoggedAt = -Infinity;

  constructor(private readonly parts: LeadershipParts) {}

  /** Settled seqs held ahead of next. */
  get bufferSize(): number {
    return this.buffer.size;
  }

  /** Something was settled in the partition: read the stream now. */
  wake(): void {
    this.bell.ring();
  }

  /** Leads until the lease ends or the process stops; throws why it stopped leading. */
  async run(): Promise<void> {
    this.startedAt = performance.now();
    this.parts.stats.leaderships++;
    for (;;) {
      try {
        await this.lead();
        return;
      } catch (error) {
        if (!(error instanceof ResyncError) || !this.leading()) throw error;
        this.parts.stats.rollbacks++;
        this.parts.tell.note('error', error.message, 'rollback-detected', { fence: this.fence });
      }
    }
  }

  private async lead(): Promise<void> {
    const { partition, memory, tell } = this.parts;
    const { fence, next } = await partition.fence(this.parts.owner, memory.highestSeen);
    if (next < memory.emittedUpTo) {
      this.parts.stats.rollbacks++;
      tell.note(
        'error',
        `next is ${next}, below the ${memory.emittedUpTo} this process emitted up to: Redis rolled back; what it lost is counted once skipped`,
        'rollback-detected',
        { next, emittedUpTo: memory.emittedUpTo },
      );
    }
    memory.emittedUpTo = next;
    this.fence = fence;
    this.buffer = new ReorderBuffer(next);
    this.lastId = '0-0';
    this.movedAt = performance.now();
    this.waitingSince = undefined;
    tell.note('info', 'leading', 'leader-acquired', { fence, next });
    while (await this.read());
    while (this.leading()) {
      await this.emitReady();
      if (!this.leading()) break;
      await this.bell.wait(this.waitMs());
      while (await this.read());
    }
    if (!this.parts.stopping.aborted) {
      throw this.parts.lease.signal.aborted
        ? (this.parts.lease.signal.reason ?? new LeaseLostError('lease lost'))
        : new LeaseLostError('lease too close to expiry to emit (process paused or Redis slow)');
    }
  }

  private leading(): boolean {
    return !this.parts.stopping.aborted && this.parts.lease.holds(LEASE_MARGIN_MS);
  }

  private waitMs(): number {
    const { readBlockMs, gapTimeoutMs } = this.parts.settings;
    if (this.waitingSince === undefined || gapTimeoutMs === 0) return readBlockMs;
    return Math.max(10, Math.min(readBlockMs, this.waitingSince + gapTimeoutMs - performance.now()));
  }

  /** Reads the next page of the results stream into the buffer; true when a full page came. */
  private async read(): Promise<boolean> {
    const entries = await this.parts.partition.readSettled(this.lastId, READ_COUNT);
    if (entries.length === 0) return false;
    this.take(entries);
    return entries.length === READ_COUNT;
  }

  private take(entries: SettledEntry[]): void {
    const readAt = this.parts.clock();
    const stale: string[] = [];
    const { memory } = this.parts;
    for (const { id, seqs, createdAt, processedAt } of entries) {
      const source: StreamEntry = { id, waiting: 0 };
      seqs.forEach((seq, i) => {
        this.buffer.add(seq, { source, readAt, createdAt: createdAt?.[i], processedAt: processedAt?.[i] });
        if (seq > memory.highestSeen) memory.highestSeen = seq;
      });
      if (source.waiting === 0) stale.push(id);
    }
    this.lastId = entries[entries.length - 1]!.id;
    // Entries naming only seqs below next were emitted already: deleting them is harmless.
    if (stale.length > 0) this.parts.partition.dropSettled(stale).catch(() => {});
  }

  private async emitReady(): Promise<void> {
    const { settings } = this.parts;
    for (;;) {
      const run = this.buffer.run(settings.emitBatch);
      if (run.length > 0) {
        if (!(await this.emit(run))) return;
        continue;
      }
      const skip = await this.gapToSkip();
      if (!skip) return;
      if (!(await this.emit(this.buffer.run(settings.emitBatch, skip.to), skip))) return;
    }
  }

  /** One emit.lua call; false when the caller should stop emitting for now. */
  private async emit(run: RunItem[], skip?: { to: number; lostUpTo: number }): Promise<boolean> {
    if (!this.leading()) return false;
    const { partition, stats, memory, tell } = this.parts;
    const next = this.buffer.next;
    const now = this.parts.clock();
    const result = await partition.emit({
      fence: this.fence,
      next,
      now,
      run: stretches(run),
      done: this.buffer.drained(run),
      ...(skip ? { skipTo: skip.to, lostUpTo: skip.lostUpTo } : {}),
    });
    switch (result.kind) {
      case 'emitted': {
        stats.emitted += result.results;
        stats.tombstones += result.tombstones;
        if (skip) this.noteSkip(next, skip);
        tell.emitted(run, result.results, now);
        this.buffer.advance(result.next);
        memory.emittedUpTo = result.next;
        if (result.next - 1 > memory.highestSeen) memory.highestSeen = result.next - 1;
        this.movedAt = performance.now();
        this.waitingSince = undefined;
        this.probe = undefined;
        if (this.firstEmit) {
          this.firstEmit = false;
          this.parts.onFirstEmit?.(performance.now() - this.startedAt);
        }
        return true;
      }
      case 'fenced':
        stats.fenced++;
        throw new FencedError(this.fence);
      case 'stale-next':
        throw new ResyncError(
          `next moved under this leader from ${next} to ${result.next ?? 'nothing'}: Redis rolled back; rebuilding as a new leader`,
        );
      case 'not-settled':
        throw new ResyncError(
          `seq ${result.seq} was read as settled but Redis does not hold it so: Redis rolled back; rebuilding as a new leader`,
        );
      case 'gap-known':
        tell.logger.info('a seq of the gap became known; not skipping it', { seq: result.seq });
        this.waitingSince = undefined;
        this.probedAt = -Infinity;
        return false;
    }
  }

  private noteSkip(from: number, skip: { to: number; lostUpTo: number }): void {
    const last = skip.to - 1;
    const lost = Math.max(0, Math.min(last, skip.lostUpTo) - from + 1);
    this.parts.stats.skipped += skip.to - from;
    this.parts.stats.lost += lost;
    this.parts.tell.skipped(from, last, lost);
  }

  /**
   * When next is missing: probes Redis (at most a few times per timeout) to learn why, reports a
   * stall, and answers the gap to skip once GAP_TIMEOUT_MS has passed with nothing knowing next.
   */
  private async gapToSkip(): Promise<{ to: number; lostUpTo: number } | undefined> {
    const { settings, partition } = this.parts;
    const now = performance.now();
    const every = Math.min(1000, Math.max(25, (settings.gapTimeoutMs || STALL_DEFAULT_MS) / 4));
    if (now - this.probedAt >= every) {
      this.probedAt = now;
      this.probe = await partition.probe(this.buffer.next);
      if (this.probe.next !== this.buffer.next) {
        throw new ResyncError(
          `next is ${this.probe.next ?? 'gone'} in Redis, not the ${this.buffer.next} this leader reached: Redis rolled back; rebuilding as a new leader`,
        );
      }
      if (this.probe.kind === 'settled') {
        // Settled since the last read: its stream entry carries its timestamps. One the stream no
        // longer names (emitted, then rolled back) is emitted from the state, untimed.
        while (await this.read());
        this.buffer.add(this.buffer.next, { source: undefined, readAt: this.parts.clock() });
        return undefined;
      }
      await this.reportStall(this.probe);
    }
    const probe = this.probe;
    if (!probe || probe.kind !== 'unknown' || settings.gapTimeoutMs === 0) {
      this.waitingSince = undefined;
      return undefined;
    }
    const next = this.buffer.next;
    const lowest = this.buffer.lowest();
    const tailLost =
      lowest === undefined && next <= probe.accepted && probe.inputLength === 0 && probe.stateSize === 0 && probe.delayedCount === 0;
    if (lowest === undefined && !tailLost) {
      this.waitingSince = undefined;
      return undefined;
    }
    this.waitingSince ??= now;
    if (now - this.waitingSince < settings.gapTimeoutMs) return undefined;
    const end = Math.min(lowest ?? probe.accepted + 1, probe.parkedMin ?? Infinity, next + MAX_SKIP);
    return end > next ? { to: end, lostUpTo: probe.accepted } : undefined;
  }

  private async reportStall(probe: Probe): Promise<void> {
    const { settings, tell, partition } = this.parts;
    const stallAfter = settings.gapTimeoutMs || STALL_DEFAULT_MS;
    const now = performance.now();
    const waiting = this.buffer.size > 0 || probe.inputLength > 0 || probe.parkedCount > 0 || probe.delayedCount > 0 || probe.stateSize > 0;
    if (!waiting || now - this.movedAt < stallAfter || now - this.stallLoggedAt < stallAfter) return;
    this.stallLoggedAt = now;
    const stall: Stall = stallReason(this.buffer.next, probe, this.buffer.size, settings.gapTimeoutMs, Math.round(now - this.movedAt));
    tell.stalled(stall);
    await partition.noteStall({ ...stall, at: this.parts.clock(), leader: this.parts.owner });
  }
}

/** The run as stretches of seqs read at the same time (emit.lua's sequencingAt per stretch). */
function stretches(run: RunItem[]): RunStretch[] {
  const out: RunStretch[] = [];
  for (const item of run) {
    const last = out[out.length - 1];
    if (last && last.sequencingAt === item.settled.readAt) last.count++;
    else out.push({ count: 1, sequencingAt: item.settled.readAt });
  }
  return out;
}
