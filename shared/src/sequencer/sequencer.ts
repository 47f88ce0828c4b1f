import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Redlock } from '@sesamecare-oss/redlock';
import { FencedError } from '../errors.js';
import { instanceId, type Logger } from '../logger.js';
import { sequencersKey, wakeChannels } from '../partition/keys.js';
import type { Partition } from '../partition/partition.js';
import type { RedisClient } from '../redis.js';
import { delay, systemClock, type Clock } from '../time.js';
import { WakeListener } from '../wake.js';
import type { SequencerSettings } from '../config/services.js';
import { Leadership, type PartitionMemory, type SequencerStats } from './leadership.js';
import { LeaderTelemetry } from './leader-telemetry.js';
import { Telemetry } from '../telemetry/telemetry.js';
import { LeaderLease, createRedlock, type Lease } from './lease.js';

export type { SequencerStats } from './leadership.js';

export interface SequencerParts {
  /** commands: leases, fences, emits */
  redis: RedisClient;
  /** a connection of its own for wake-ups (Pub/Sub) */
  subscriber: RedisClient;
  settings: SequencerSettings;
  logger: Logger;
  owner?: string;
  clock?: Clock;
  /** the lease of a partition's leadership (default: a Redlock lease on its leader key) */
  leaseFor?: (partition: Partition) => Lease;
  /** where its events, metrics and log lines go (default: its own, with a private registry) */
  telemetry?: Telemetry;
}

/** One partition this sequencer serves: competes for its lease, leads it when it holds it. */
interface Seat {
  partition: Partition;
  lease: Lease;
  memory: PartitionMemory;
  tell: LeaderTelemetry;
  /** this member's rendezvous score for the partition: who prefers to lead it */
  score: number;
  leadership: Leadership | undefined;
  running: Promise<void> | undefined;
  /** monotonic ms since when its lease has been seen free while this member was at its share */
  freeSince: number | undefined;
}

type State = 'idle' | 'running' | 'stopping' | 'stopped';

/**
 * One member of a sequencer group. It serves any number of partitions: for each, it competes
 * for the partition's own Redlock lease and leads it while it holds it (Leadership). The group
 * spreads leaderships evenly: with N live members and P partitions, a member leads at most
 * ceil(P/N) while all are alive, gives surplus leaderships up when a member joins, and takes
 * over a lost member's partitions as their leases lapse. Two Redis connections in all.
 */
export class Sequencer {
  readonly stats: SequencerStats = { leaderships: 0, emitted: 0, tombstones: 0, skipped: 0, lost: 0, fenced: 0, rollbacks: 0 };
  readonly owner: string;
  private state: State = 'idle';
  private readonly abort = new AbortController();
  private readonly seats = new Map<string, Seat>();
  private readonly clock: Clock;
  private readonly wake: WakeListener;
  private readonly redlock: Redlock;
  private members: string[] = [];
  private loop: Promise<void> = Promise.resolve();
  /** ms from the start of the last leadership to its first emit (failover figures) */
  lastFirstEmitMs: number | undefined;
  readonly telemetry: Telemetry;
  private summaryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly parts: SequencerParts) {
    this.telemetry = parts.telemetry ?? new Telemetry();
    this.owner = parts.owner ?? instanceId;
    this.clock = parts.clock ?? systemClock;
    this.wake = new WakeListener(parts.subscriber, parts.logger);
    this.redlock = createRedlock(parts.redis);
  }

  /** True while it leads at least one partition. */
  get isLeader(): boolean {
    return this.leading.length > 0;
  }

  /** The tags of the partitions it leads now. */
  get leading(): string[] {
    return [...this.seats.values()].filter((s) => s.leadership).map((s) => s.partition.tag);
  }

  get served(): string[] {
    return [...this.seats.keys()];
  }

  /** Starts competing for a partition's leadership (initialising it in Redis). */
  async serve(partition: Partition): Promise<void> {
    if (this.seats.has(partition.tag) || this.state === 'stopping' || this.state === 'stopped') return;
    await partition.init();
    const { leaderLeaseMs, leaderRenewMs } = this.parts.settings;
    const logger = this.parts.logger.child({ pipeline: partition.pipeline, partition: partition.partition });
    const tell = new LeaderTelemetry(this.telemetry, { logger, pipeline: partition.pipeline, partition: partition.partition });
    const lease =
      this.parts.leaseFor?.(partition) ??
      new LeaderLease(
        this.redlock,
        partition.keys.leader,
        { leaseMs: leaderLeaseMs, renewMs: leaderRenewMs, onRenewed: (ms) => tell.renewed(ms) },
        logger,
        this.clock,
      );
    const seat: Seat = {
      partition,
      tell,
      memory: { highestSeen: 0, emittedUpTo: 0 },
      lease,
      score: rendezvous(this.owner, partition.tag),
      leadership: undefined,
      running: undefined,
      freeSince: undefined,
    };
    this.seats.set(partition.tag, seat);
    this.wake.on(wakeChannels(partition.prefix).results, partition.tag, () => seat.leadership?.wake());
  }

  /** Stops serving a partition: gives its leadership up, if it has it. */
  async unserve(tag: string): Promise<void> {
    const seat = this.seats.get(tag);
    if (!seat) return;
    this.seats.delete(tag);
    this.wake.off(wakeChannels(seat.partition.prefix).results, tag);
    await this.stepDown(seat);
  }

  async start(): Promise<void> {
    if (this.state !== 'idle') throw new Error(`sequencer cannot start from state ${this.state}`);
    this.state = 'running';
    this.loop = this.run();
    this.summaryTimer = setInterval(() => void this.summarise(), SUMMARY_EVERY_MS);
    this.telemetry.note({ logger: this.parts.logger }, 'info', 'sequencer started', 'started', {
      owner: this.owner,
      partitions: this.served,
    });
  }

  /** Stops, releasing every lease at once so that the others take over without waiting. */
  async stop(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    this.abort.abort();
    await this.loop;
    await Promise.all([...this.seats.values()].map((seat) => this.stepDown(seat)));
    await this.membership(0).catch(() => undefined);
    this.wake.stop();
    clearInterval(this.summaryTimer);
    this.state = 'stopped';
    this.telemetry.note({ logger: this.parts.logger }, 'info', 'sequencer stopped', 'stopped', { stats: this.stats });
  }

  private async run(): Promise<void> {
    const { leaderRetryMs, leaderLeaseMs } = this.parts.settings;
    while (!this.abort.signal.aborted) {
      try {
        // Every turn: a member that died drops out within a lease, and its partitions move then.
        this.members = await this.membership(leaderLeaseMs);
        await this.balance();
      } catch (error) {
        this.parts.logger.warn('competing for leaderships failed; retrying', { error: String(error) });
      }
      await delay(leaderRetryMs, this.abort.signal);
    }
  }

  private membership(leaseMs: number): Promise<string[]> {
    const key = sequencersKey([...this.seats.values()][0]?.partition.prefix);
    return this.parts.redis.inorderMembers(key, this.owner, leaseMs);
  }

  /** Leads its share of the partitions: takes free ones up to it, gives surplus ones up. */
  private async balance(): Promise<void> {
    const seats = [...this.seats.values()];
    const share = Math.ceil(seats.length / Math.max(1, this.members.length));
    const led = seats.filter((s) => s.leadership).sort((a, b) => a.score - b.score);
    for (let surplus = led.length - share; surplus > 0; surplus--) {
      const seat = led.shift()!;
      seat.tell.note('info', 'giving a leadership up to share them evenly', 'leader-handover', { share, members: this.members.length });
      await this.stepDown(seat);
    }
    let leading = seats.filter((s) => s.leadership).length;
    const candidates = seats.filter((s) => !s.leadership).sort((a, b) => b.score - a.score);
    for (const seat of candidates) {
      if (this.abort.signal.aborted) return;
      const now = performance.now();
      if (leading >= share) {
        // At its share: take a partition only once nobody else has for a whole lease.
        const free = (await this.parts.redis.exists(seat.partition.keys.leader)) === 0;
        seat.freeSince = free ? (seat.freeSince ?? now) : undefined;
        if (seat.freeSince === undefined || now - seat.freeSince < this.parts.settings.leaderLeaseMs) continue;
      }
      if (await this.tryLead(seat)) leading++;
    }
  }

  private async tryLead(seat: Seat): Promise<boolean> {
    if (!(await seat.lease.tryAcquire())) return false;
    seat.freeSince = undefined;
    seat.tell.leading(true);
    const leadership = new Leadership({
      partition: seat.partition,
      lease: seat.lease,
      settings: this.parts.settings,
      tell: seat.tell,
      owner: this.owner,
      clock: this.clock,
      memory: seat.memory,
      stats: this.stats,
      stopping: this.abort.signal,
      onFirstEmit: (ms) => (this.lastFirstEmitMs = ms),
    });
    seat.leadership = leadership;
    seat.running = leadership
      .run()
      .catch((error: unknown) => {
        if (!this.abort.signal.aborted && seat.leadership === leadership) {
          seat.tell.note('warn', 'leadership ended', error instanceof FencedError ? 'leader-fenced' : 'leader-lost', {
            error: (error as Error).message,
          });
        }
      })
      .finally(async () => {
        seat.tell.leading(false);
        if (seat.leadership === leadership) seat.leadership = undefined;
        if (!this.abort.signal.aborted) await seat.lease.release();
      });
    return true;
  }

  /** Ends a leadership at once (its loop stops at the next check; the fence guards the rest). */
  /** Every SUMMARY_EVERY_MS: each led partition's summary line and gauges. */
  private async summarise(): Promise<void> {
    for (const seat of this.seats.values()) {
      const leadership = seat.leadership;
      if (!leadership) continue;
      try {
        seat.tell.summary(await seat.partition.status(), leadership.bufferSize, SUMMARY_EVERY_MS);
      } catch (error) {
        seat.tell.logger.debug('reading the partition status for the summary failed', { error: String(error) });
      }
    }
  }

  private async stepDown(seat: Seat): Promise<void> {
    const { leadership, running } = seat;
    if (!leadership) return;
    seat.leadership = undefined;
    await seat.lease.release();
    leadership.wake();
    await running;
  }
}

/** How often each led partition's summary line is written (info) and its gauges are read. */
const SUMMARY_EVERY_MS = 10_000;

/** Rendezvous (highest random weight) score: every member ranks every partition the same way. */
function rendezvous(owner: string, tag: string): number {
  return createHash('sha1').update(`${owner}\n${tag}`).digest().readUInt32BE(0);
}
