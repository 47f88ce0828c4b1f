import { performance } from 'node:perf_hooks';
import type { Logger } from '../logger.js';
import type { ClaimBatch, PartitionWork } from './claim-batch.js';

export interface UpkeepSettings {
  claimLeaseMs: number;
  claimRenewMs: number;
}

export type GiveUp = (batch: ClaimBatch, reason: Error, release: boolean) => void;

/**
 * The processor's heartbeat: every `claimRenewMs`, in each partition where it holds claims or
 * claimed within the last lease, one heartbeat.lua call renews its liveness (one call per
 * partition, however many claims), reaps the claims of processors that stopped beating, and
 * reconciles its claims with Redis's.
 *
 * Exclusivity rests here: a claim is the processor's only while its liveness holds in Redis.
 * When no heartbeat or claim has been answered for a whole lease (this process was paused, its
 * event loop blocked, or Redis slow), another processor may have its claims already: it stops
 * their work at once and gives them back, before any heartbeat could tell it so.
 */
export class Upkeep {
  private timer: NodeJS.Timeout | undefined;
  private works: () => Iterable<PartitionWork> = () => [];
  private readonly retiring = new Set<PartitionWork>();
  private beating: Promise<void> | undefined;

  constructor(
    private readonly owner: string,
    private readonly settings: UpkeepSettings,
    private readonly logger: Logger,
    private readonly giveUp: GiveUp,
  ) {}

  start(works: () => Iterable<PartitionWork>): void {
    this.works = works;
    this.timer = setInterval(() => {
      this.beating ??= this.beatAll().finally(() => (this.beating = undefined));
    }, this.settings.claimRenewMs);
  }

  /** A partition no longer served: it keeps beating until its last claim is settled. */
  retire(work: PartitionWork): void {
    this.retiring.add(work);
  }

  retired(): PartitionWork[] {
    return [...this.retiring];
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.beating;
  }

  private async beatAll(): Promise<void> {
    // Where it claimed within a lease it is live in Redis even holding nothing now: only its own
    // heartbeat gives back a claim of its that a Redis rollback brought back (nobody reaps a live owner).
    const now = performance.now();
    const all = [...this.works(), ...this.retiring].filter((w) => w.claims.size > 0 || now - w.lastClaimedAt < this.settings.claimLeaseMs);
    await Promise.all(all.map((w) => this.beat(w)));
    for (const work of this.retiring) if (work.claims.size === 0) this.retiring.delete(work);
  }

  private async beat(work: PartitionWork): Promise<void> {
    const { claimLeaseMs } = this.settings;
    const sentAt = performance.now();
    if (sentAt - work.lastBeatAt >= claimLeaseMs) {
      const silent = Math.round(sentAt - work.lastBeatAt);
      for (const batch of work.batches()) {
        this.giveUp(
          batch,
          new Error(`claim given up: this process was not heard from by Redis for ${silent} ms (paused, blocked or Redis slow)`),
          true,
        );
      }
    }
    let reply;
    try {
      reply = await work.partition.heartbeat(this.owner, claimLeaseMs, [...work.claims.keys()]);
    } catch (error) {
      work.logger.warn('heartbeat failed', { event: 'heartbeat-failed', error: String(error) });
      return;
    }
    if (!reply.alive) {
      for (const batch of work.batches())
        this.giveUp(batch, new Error('claims lost: this process was presumed dead and its claims reaped'), false);
      return;
    }
    work.lastBeatAt = sentAt;
    for (const token of reply.gone) {
      const batch = work.claims.get(token);
      // A claim whose last write is on its way is gone because that write removed it.
      if (batch && batch !== 'claiming' && batch.open > 0) {
        this.giveUp(batch, new Error('claim lost: Redis no longer holds it (reaped, or rolled back)'), false);
      }
    }
    if (reply.returned > 0) work.tell.reaped(reply.returned);
  }
}
