import type { RedisClient } from './redis.js';
import { FencedError, LeaseLostError } from './errors.js';
import { LeaderLease, type Lease } from './leader.js';
import { instanceId, type Logger } from './logger.js';
import type { EmitItem, Partition } from './partition.js';
import { ReorderBuffer, type BufferedEntry, type StreamEntry } from './reorder-buffer.js';
import { delay, systemClock, type Clock } from './time.js';

export interface SequencerSettings {
  leaderLeaseMs: number;
  leaderRenewMs: number;
  leaderRetryMs: number;
  emitBatch: number;
  gapTimeoutMs: number;
  readBlockMs: number;
}

export interface SequencerParts {
  partition: Partition;
  /** a connection of its own: blocking stream reads run on it */
  blocking: RedisClient;
  settings: SequencerSettings;
  logger: Logger;
  owner?: string;
  clock?: Clock;
  /** defaults to a Redlock lease on the partition's leader key */
  lease?: Lease;
}

export interface SequencerStats {
  leaderships: number;
  emitted: number;
  tombstones: number;
  skipped: number;
  fenced: number;
}

type State = 'idle' | 'standby' | 'leading' | 'stopping' | 'stopped';

/** Margin kept between the last emit and the lease's expiry, for clock drift and the call. */
const LEASE_MARGIN_MS = 100;
const READ_COUNT = 1000;

/**
 * One member of a sequencer group. Standbys keep asking for the leader lease; the leader takes
 * a new fence, rebuilds its reorder buffer from the results stream, and emits contiguous runs
 * through emit.lua, which refuses any caller whose fence is no longer current.
 */
export class Sequencer {
  readonly stats: SequencerStats = { leaderships: 0, emitted: 0, tombstones: 0, skipped: 0, fenced: 0 };
  private state: State = 'idle';
  private readonly abort = new AbortController();
  private readonly lease: Lease;
  private readonly owner: string;
  private readonly clock: Clock;
  private loop: Promise<void> = Promise.resolve();
  private gapSince: number | undefined;
  private gapCheckedAt: number | undefined;
  /** when the current leadership began and when it first emitted (for failover figures) */
  leadingSince: number | undefined;

  constructor(private readonly parts: SequencerParts) {
    this.owner = parts.owner ?? instanceId;
    this.clock = parts.clock ?? systemClock;
    const { leaderLeaseMs, leaderRenewMs } = parts.settings;
    this.lease =
      parts.lease ??
      new LeaderLease(parts.partition.redis, parts.partition.keys.leader, { leaseMs: leaderLeaseMs, renewMs: leaderRenewMs }, parts.logger, this.clock);
  }

  get isLeader(): boolean {
    return this.state === 'leading';
  }

  async start(): Promise<void> {
    if (this.state !== 'idle') throw new Error(`sequencer cannot start from state ${this.state}`);
    await this.parts.partition.init();
    this.state = 'standby';
    this.loop = this.run();
    this.parts.logger.info('sequencer started', { owner: this.owner });
  }

  /** Stops, releasing the lease at once so that a standby takes over. */
  async stop(): Promise<void> {
    if (this.state === 'idle' || this.state === 'stopping' || this.state === 'stopped') return;
    this.state = 'stopping';
    this.abort.abort();
    this.parts.blocking.disconnect();
    await this.loop;
    await this.lease.release();
    this.state = 'stopped';
    this.parts.logger.info('sequencer stopped', { stats: this.stats });
  }

  private async run(): Promise<void> {
    const { settings, logger } = this.parts;
    while (!this.abort.signal.aborted) {
      let acquired = false;
      try {
        acquired = await this.lease.tryAcquire();
      } catch (error) {
        logger.warn('asking for the leader lease failed', { error: String(error) });
      }
      if (!acquired) {
        await delay(settings.leaderRetryMs, this.abort.signal);
        continue;
      }
      try {
        await this.lead();
      } catch (error) {
        if (error instanceof FencedError) this.stats.fenced++;
        if (!this.abort.signal.aborted) logger.warn('leadership ended', { error: (error as Error).message });
      } finally {
        if (this.state === 'leading') this.state = 'standby';
        this.leadingSince = undefined;
        if (!this.abort.signal.aborted) await this.lease.release();
      }
    }
  }

  private async lead(): Promise<void> {
    const { partition, logger } = this.parts;
    const { fence, next } = await partition.fence(this.owner);
    this.state = 'leading';
    this.stats.leaderships++;
    this.leadingSince = this.clock();
    this.gapSince = undefined;
    logger.info('leading', { fence, next });
    const buffer = new ReorderBuffer(next);
    let lastId = '0-0';
    // Rebuild the buffer from what the stream holds (bounded by the window).
    for (;;) {
      const entries = await partition.redis.xrange(partition.keys.results, `(${lastId}`, '+', 'COUNT', READ_COUNT);
      if (entries.length === 0) break;
      lastId = this.take(buffer, entries);
    }
    while (this.leading()) {
      await this.emitReady(buffer, fence);
      if (!this.leading()) break;
      const reply = (await this.parts.blocking.xread(
        'COUNT', READ_COUNT, 'BLOCK', this.blockMs(buffer), 'STREAMS', partition.keys.results, lastId,
      )) as Array<[string, Array<[string, string[]]>]> | null;
      const entries = reply?.[0]?.[1];
      if (entries && entries.length > 0) lastId = this.take(buffer, entries);
    }
    // Say why leading stopped (run() logs it), unless this process is stopping.
    if (!this.abort.signal.aborted) {
      throw this.lease.signal.aborted
        ? (this.lease.signal.reason ?? new LeaseLostError('lease lost'))
        : new LeaseLostError('lease too close to expiry to emit (process paused or Redis slow)');
    }
  }

  private leading(): boolean {
    return !this.abort.signal.aborted && this.lease.holds(LEASE_MARGIN_MS);
  }

  /** Waits no longer than the lease renewal period, and wakes when a gap may expire. */
  private blockMs(buffer: ReorderBuffer): number {
    const { readBlockMs, gapTimeoutMs } = this.parts.settings;
    if (this.gapSince === undefined || gapTimeoutMs === 0 || buffer.size === 0) return readBlockMs;
    return Math.max(10, Math.min(readBlockMs, this.gapSince + gapTimeoutMs - this.clock()));
  }

  /** Adds the seqs of stream entries to the buffer; returns the last id read. */
  private take(buffer: ReorderBuffer, entries: Array<[string, string[]]>): string {
    const now = this.clock();
    const stale: string[] = [];
    for (const [id, fields] of entries) {
      const source: StreamEntry = { id, waiting: 0 };
      for (const entry of parseEntry(source, fields, now)) buffer.add(entry);
      if (source.waiting === 0) stale.push(id);
    }
    if (stale.length > 0) {
      this.parts.logger.warn('dropping stream entries below next or unreadable', { count: stale.length });
      this.drop(stale);
    }
    return entries[entries.length - 1]![0];
  }

  /**
   * Deletes stream entries that hold no seq at or past next: emitted already, so deleting them
   * outside the fenced emit is harmless. A failure leaves them for the next leader's rebuild.
   */
  private drop(ids: string[]): void {
    const { partition } = this.parts;
    void partition.redis.xdel(partition.keys.results, ...ids).catch(() => {});
  }

  private async emitReady(buffer: ReorderBuffer, fence: string): Promise<void> {
    const { partition, settings, logger } = this.parts;
    for (;;) {
      let run = buffer.run(settings.emitBatch);
      if (run.length === 0) {
        if (!(await this.gapExpired(buffer))) return;
        run = [{ seq: buffer.next, kind: 's', entry: undefined }];
      }
      if (!this.leading()) return;
      const now = this.clock();
      const items: EmitItem[] = run.map((item) => ({
        kind: item.kind,
        body: item.kind === 'r' && item.entry ? withSequencedAt(item.entry, now) : '',
      }));
      const result = await partition.emit(fence, buffer.next, items, now, buffer.drained(run));
      switch (result.kind) {
        case 'emitted': {
          for (const item of run) {
            if (item.kind === 'r') this.stats.emitted++;
            else if (item.kind === 't') this.stats.tombstones++;
            else {
              this.stats.skipped++;
              logger.warn('gap skipped: seq never arrived within GAP_TIMEOUT_MS', { seq: item.seq });
            }
          }
          buffer.advance(result.next); // the entries it drains were deleted by the emit itself
          this.gapSince = undefined;
          break;
        }
        case 'fenced':
          throw new FencedError(fence);
        case 'stale-next':
          logger.warn('next moved under this leader; resynchronising', { expected: buffer.next, stored: result.next });
          this.drop(buffer.advance(result.next));
          break;
        case 'not-a-gap':
          this.gapSince = undefined;
          return;
      }
    }
  }

  /** True when `next` has been missing, and unknown to any processor, for GAP_TIMEOUT_MS. */
  private async gapExpired(buffer: ReorderBuffer): Promise<boolean> {
    const { partition, settings } = this.parts;
    if (buffer.size === 0 || settings.gapTimeoutMs === 0) {
      this.gapSince = undefined;
      return false;
    }
    // Ask Redis at most a few times per timeout while the order waits.
    const checkEvery = Math.min(100, settings.gapTimeoutMs / 4);
    if (this.gapCheckedAt !== undefined && this.clock() - this.gapCheckedAt < checkEvery) {
      return this.gapSince !== undefined && this.clock() - this.gapSince >= settings.gapTimeoutMs;
    }
    this.gapCheckedAt = this.clock();
    const known = await partition.redis.hexists(partition.keys.state, String(buffer.next));
    if (known === 1) {
      this.gapSince = undefined;
      return false;
    }
    const now = this.clock();
    this.gapSince ??= now;
    return now - this.gapSince >= settings.gapTimeoutMs;
  }
}

/**
 * The seqs of one results stream entry (fields seq -> output envelope, or "t" for a tombstone);
 * unreadable fields are left out.
 */
function parseEntry(source: StreamEntry, fields: string[], now: number): BufferedEntry[] {
  const entries: BufferedEntry[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const seq = Number(fields[i]);
    const value = fields[i + 1]!;
    if (!Number.isSafeInteger(seq) || seq < 1) continue;
    if (value === 't') entries.push({ seq, kind: 't', source, body: '', sequencingAt: now });
    else if (value.startsWith('{')) entries.push({ seq, kind: 'r', source, body: value, sequencingAt: now });
  }
  return entries;
}

/** Adds the sequencer's two timestamps to a processor's output envelope without re-parsing it. */
function withSequencedAt(entry: BufferedEntry, now: number): string {
  return `${entry.body.slice(0, -1)},"sequencingAt":${entry.sequencingAt},"sequencedAt":${now}}`;
}
