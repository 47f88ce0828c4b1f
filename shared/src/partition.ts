import type { RedisClient } from './redis.js';
import { keysFor, type PartitionKeys } from './keys.js';
import { LayoutError } from './errors.js';
import { registerPipeline } from './registry.js';

/** The data layout this code reads and writes (see README, "Redis keys"). */
export const LAYOUT = '1';

export interface Claimed {
  seq: number;
  attempts: number;
  raw: string;
}

export interface Dropped {
  kind: 'duplicate' | 'late' | 'malformed';
  seq: number | undefined;
  /** the state that made it a duplicate: C claimed, R retry waiting, D done, emitted */
  state: string;
}

export interface ClaimResult {
  claimed: Claimed[];
  dropped: Dropped[];
  /** claiming stopped because the next entry is a window or more ahead of the sequencer */
  blocked: boolean;
  /** the token had been used: a resent call whose first reply was lost */
  replayed: boolean;
}

export interface CompleteItem {
  seq: number;
  token: string;
  body: string;
}

export type FailItem =
  | { seq: number; token: string; action: 'retry'; dueAt: number; body: string }
  | { seq: number; token: string; action: 'dead'; body: string };

export type EmitKind = 'r' | 't' | 's';

export interface EmitItem {
  kind: EmitKind;
  /** output JSON for a result, '' otherwise */
  body: string;
}

export type EmitResult =
  | { kind: 'emitted'; next: number }
  | { kind: 'fenced'; next: number }
  | { kind: 'stale-next'; next: number }
  | { kind: 'not-a-gap'; next: number };

export type Ordering = 'strict' | 'none';

/**
 * One partition's Redis state, reached only through the Lua steps. Return codes become typed
 * results here, in one place; only broken invariants throw.
 */
export class Partition {
  readonly keys: PartitionKeys;

  constructor(
    readonly redis: RedisClient,
    readonly pipeline: string,
    readonly partition: number,
    readonly options: { prefix?: string; ordering?: Ordering; seqStart?: number } = {},
  ) {
    this.keys = keysFor(pipeline, partition, options.prefix);
  }

  get ordered(): boolean {
    return (this.options.ordering ?? 'strict') === 'strict';
  }

  /** Strict pipelines take input from a list, unordered ones from a priority queue. */
  get inputMode(): 'list' | 'queue' {
    return this.ordered ? 'list' : 'queue';
  }

  /** The list a processor blocks on until there is input: the input list, or the queue's signal. */
  get waitKey(): string {
    return this.ordered ? this.keys.input : this.keys.signal;
  }

  /**
   * Registers the pipeline (first registration wins; another ordering is refused with
   * PipelineConflictError), sets the layout and first seq if new, and refuses a partition
   * written by another layout.
   */
  async init(): Promise<{ next: number }> {
    await registerPipeline(this.redis, this.pipeline, { ordering: this.options.ordering ?? 'strict' }, this.options.prefix);
    const [layout, next] = await this.redis.inorderInit(this.keys.meta, LAYOUT, this.options.seqStart ?? 1);
    if (layout !== LAYOUT) throw new LayoutError(this.keys.meta, layout, LAYOUT);
    return { next: Number(next) };
  }

  async claim(count: number, token: string, now: number, leaseMs: number, window: number): Promise<ClaimResult> {
    const k = this.keys;
    const [flat, droppedFlat, blocked, replayed] = await this.redis.inorderClaim(
      k.input, k.state, k.leases, k.batches, k.meta, k.skipped, k.dead, k.queue, k.signal,
      count, token, now, leaseMs, this.ordered ? window : 0, this.inputMode,
    );
    const claimed: Claimed[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) {
      claimed.push({ seq: Number(flat[i]), attempts: Number(flat[i + 1]), raw: flat[i + 2]! });
    }
    const dropped: Dropped[] = [];
    for (let i = 0; i + 2 < droppedFlat.length; i += 3) {
      const seq = droppedFlat[i + 1];
      dropped.push({
        kind: droppedFlat[i] as Dropped['kind'],
        seq: seq ? Number(seq) : undefined,
        state: droppedFlat[i + 2]!,
      });
    }
    return { claimed, dropped, blocked: blocked === 1, replayed: replayed === 1 };
  }

  /** Returns, per item, whether it was completed (false: the claim is no longer ours). */
  async complete(items: CompleteItem[], finishedTokens: string[]): Promise<boolean[]> {
    const k = this.keys;
    const args: (string | number)[] = [this.ordered ? 'ordered' : 'unordered', finishedTokens.length, ...finishedTokens];
    for (const item of items) args.push(item.seq, item.token, item.body);
    const codes = await this.redis.inorderComplete(k.state, this.ordered ? k.results : k.output, k.leases, k.batches, ...args);
    return codes.map((c) => c === 1);
  }

  /** Returns, per item, whether it was settled (false: the claim is no longer ours). */
  async fail(items: FailItem[], finishedTokens: string[]): Promise<boolean[]> {
    const k = this.keys;
    const args: (string | number)[] = [this.ordered ? 'ordered' : 'unordered', finishedTokens.length, ...finishedTokens];
    for (const item of items) {
      args.push(item.seq, item.token, item.action, item.action === 'retry' ? item.dueAt : 0, item.body);
    }
    const codes = await this.redis.inorderFail(k.state, k.delayed, k.results, k.dead, k.leases, k.batches, k.meta, ...args);
    return codes.map((c) => c === 1);
  }

  /** Returns the tokens whose lease is gone (reaped by another processor). */
  async renew(tokens: string[], deadline: number): Promise<string[]> {
    if (tokens.length === 0) return [];
    const codes = await this.redis.inorderRenew(this.keys.leases, deadline, ...tokens);
    return tokens.filter((_, i) => codes[i] !== 1);
  }

  /** Returns the claims of expired leases to the input. */
  async reap(now: number, limit: number): Promise<{ tokens: string[]; seqs: number }> {
    const k = this.keys;
    const [tokens, seqs] = await this.redis.inorderReap(k.input, k.state, k.leases, k.batches, k.queue, k.signal, 'reap', now, limit, this.inputMode);
    return { tokens, seqs };
  }

  /** Returns the given claims to the input without counting the attempt (graceful shutdown). */
  async release(tokens: string[]): Promise<number> {
    if (tokens.length === 0) return 0;
    const k = this.keys;
    const [, seqs] = await this.redis.inorderReap(k.input, k.state, k.leases, k.batches, k.queue, k.signal, 'release', 0, 0, this.inputMode, ...tokens);
    return seqs;
  }

  /** Moves due retries to the input; returns how many, and when the next one is due. */
  async promote(now: number, limit: number): Promise<{ promoted: number; nextDue: number | undefined }> {
    const k = this.keys;
    const [promoted, nextDue] = await this.redis.inorderPromote(k.delayed, k.state, k.input, k.queue, k.signal, now, limit, this.inputMode);
    return { promoted, nextDue: nextDue === -1 ? undefined : nextDue };
  }

  /** Takes a new fencing token for a new leader. */
  async fence(owner: string): Promise<{ fence: string; next: number }> {
    const [fence, next] = await this.redis.inorderFence(this.keys.meta, owner, this.options.seqStart ?? 1);
    return { fence, next: Number(next) };
  }

  /**
   * Emits `items` (one per seq from `next` on) and deletes the results stream entries `done`:
   * those whose every seq is emitted once this call lands.
   */
  async emit(fence: string, next: number, items: EmitItem[], now: number, done: string[] = []): Promise<EmitResult> {
    const k = this.keys;
    const args: (string | number)[] = [fence, next, now, done.length, ...done];
    for (const item of items) args.push(item.kind, item.body);
    const [code, stored] = await this.redis.inorderEmit(k.meta, k.results, k.output, k.state, k.skipped, ...args);
    const at = Number(stored);
    switch (code) {
      case 1:
        return { kind: 'emitted', next: at };
      case -1:
        return { kind: 'fenced', next: at };
      case -2:
        return { kind: 'stale-next', next: at };
      case -3:
        return { kind: 'not-a-gap', next: at };
      default:
        throw new Error(`emit.lua returned unknown code ${code}`);
    }
  }
}
