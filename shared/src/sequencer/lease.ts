import { performance } from 'node:perf_hooks';
import { ExecutionError, Redlock, ResourceLockedError, type Lock } from '@sesamecare-oss/redlock';
import type { RedisClient } from '../redis.js';
import { LeaseLostError } from '../errors.js';
import type { Logger } from '../logger.js';
import { systemClock, type Clock } from '../time.js';

export interface LeaseSettings {
  leaseMs: number;
  renewMs: number;
  /** hears how long each extension took, in ms */
  onRenewed?: (ms: number) => void;
}

/** What the sequencer needs of a lease (an interface, so tests can stand in a rogue leader). */
export interface Lease {
  readonly signal: AbortSignal;
  holds(marginMs: number): boolean;
  tryAcquire(): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * One Redlock client per process, for the leases of every partition it leads. retryCount 0: a
 * standby asks again on its own schedule, so a held lease answers at once.
 */
export function createRedlock(redis: RedisClient): Redlock {
  const redlock = new Redlock([redis], { retryCount: 0, driftFactor: 0.01 });
  redlock.on('error', () => {});
  return redlock;
}

/**
 * A partition's leader lease: a Redlock lock, extended every `renewMs` well before it expires.
 * `signal` aborts when the lease is lost (an extension failed, or none landed in time); the
 * caller stops emitting then, and the fence in emit.lua refuses whatever slips through.
 */
export class LeaderLease implements Lease {
  private lock: Lock | undefined;
  /**
   * Epoch ms until which the lease is ours, as the last acquisition or extension measured it.
   * Kept here, not read from the lock: Redlock zeroes the old lock's expiration when an extension
   * lands, a few microtasks before the new lock reaches this object, and a leader that looked in
   * between took its lease for lost.
   */
  private expiresAt = 0;
  private controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private extending = false;

  constructor(
    private readonly redlock: Redlock,
    private readonly key: string,
    private readonly settings: LeaseSettings,
    private readonly logger: Logger,
    private readonly clock: Clock = systemClock,
  ) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Epoch ms until which this process may act as leader (0 when it holds no lease). */
  get validUntil(): number {
    return this.lock && !this.controller.signal.aborted ? this.expiresAt : 0;
  }

  /** True while the lease is held with at least `marginMs` left. */
  holds(marginMs: number): boolean {
    return this.clock() + marginMs < this.validUntil;
  }

  /** Tries once; true when this process is now the leader. */
  async tryAcquire(): Promise<boolean> {
    try {
      this.lock = await this.redlock.acquire([this.key], this.settings.leaseMs);
    } catch (error) {
      if (error instanceof ExecutionError || error instanceof ResourceLockedError) return false;
      throw error;
    }
    this.expiresAt = this.lock.expiration;
    this.controller = new AbortController();
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.extend(), this.settings.renewMs);
    return true;
  }

  private async extend(): Promise<void> {
    const lock = this.lock;
    if (!lock || this.controller.signal.aborted) return;
    if (!this.holds(0)) return this.lose(new LeaseLostError('leader lease expired before it could be extended'));
    if (this.extending) return;
    this.extending = true;
    const startedAt = performance.now();
    try {
      const extended = await lock.extend(this.settings.leaseMs);
      if (this.lock !== lock) return; // released, or acquired anew, meanwhile
      this.lock = extended;
      this.expiresAt = extended.expiration;
      this.settings.onRenewed?.(performance.now() - startedAt);
    } catch (cause) {
      if (this.lock === lock) this.lose(new LeaseLostError('leader lease could not be extended', { cause }));
    } finally {
      this.extending = false;
    }
  }

  private lose(error: LeaseLostError): void {
    if (this.controller.signal.aborted) return;
    clearInterval(this.timer);
    this.logger.warn('leader lease lost', { event: 'leader-lost', error: error.message });
    this.controller.abort(error);
  }

  /** Gives the lease up at once, so a standby takes over without waiting for it to expire. */
  async release(): Promise<void> {
    clearInterval(this.timer);
    const lock = this.lock;
    this.lock = undefined;
    this.expiresAt = 0;
    if (!this.controller.signal.aborted) this.controller.abort(new LeaseLostError('lease released'));
    if (!lock) return;
    try {
      await lock.release();
    } catch {
      // It expires on its own within leaseMs.
    }
  }
}
