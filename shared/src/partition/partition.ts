import { scriptKeys, type Ordering } from '../commands.js';
import { LayoutError } from '../errors.js';
import type { RedisClient } from '../redis.js';
import { writeAcked } from '../replica-acks.js';
import { registerPipeline } from '../registry.js';
import { DEFAULT_PREFIX, addressOf, keysFor, wakeChannels, type PartitionKeys } from './keys.js';
import { readListPage, type ListPage } from './list-page.js';
import { claimResult, emitResult, probeResult, settledEntry } from './replies.js';
import { readStatus, type PartitionStatus } from './status.js';
import type {
  ClaimRequest,
  ClaimResult,
  CompleteItem,
  EmitRequest,
  EmitResult,
  FailItem,
  HeartbeatResult,
  PartitionOptions,
  Probe,
  SettledEntry,
} from './types.js';

/** The data layout this code reads and writes (README, "Redis keys"). */
export const LAYOUT = '2';

export type * from './types.js';
export type { ListPage } from './list-page.js';

/**
 * One partition's Redis state. Every reader and writer of its keys goes through here: the
 * Lua steps with typed signatures, their replies decoded into typed results in one place
 * (replies.ts; only broken invariants throw), and the plain reads of tools and the status endpoint.
 */
export class Partition {
  readonly keys: PartitionKeys;
  readonly ordering: Ordering;
  readonly prefix: string;
  private readonly channels: { input: string; results: string };

  constructor(
    readonly redis: RedisClient,
    readonly pipeline: string,
    readonly partition: number,
    readonly options: PartitionOptions = {},
  ) {
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.keys = keysFor(pipeline, partition, this.prefix);
    this.ordering = options.ordering ?? 'strict';
    this.channels = wakeChannels(this.prefix);
  }

  get ordered(): boolean {
    return this.ordering === 'strict';
  }

  /** `pipeline:partition`: the hash tag of its keys, and the message of its wake-ups */
  get tag(): string {
    return addressOf(this.keys).tag;
  }

  get seqStart(): number {
    return this.options.seqStart ?? 1;
  }

  /**
   * Registers the pipeline (first registration wins; another ordering is refused with
   * PipelineConflictError), sets the layout and first seq if new, and refuses a partition
   * written by another layout.
   */
  async init(): Promise<{ next: number }> {
    await registerPipeline(this.redis, this.pipeline, { ordering: this.ordering }, this.prefix);
    const [layout, next] = await this.redis.inorderInit(...scriptKeys('inorderInit', this.keys), LAYOUT, this.seqStart);
    if (layout !== LAYOUT) throw new LayoutError(this.keys.meta, layout, LAYOUT);
    return { next: Number(next) };
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    const k = this.keys;
    const reply = await this.redis.inorderClaim(
      ...scriptKeys('inorderClaim', k),
      this.ordering,
      request.count,
      request.token,
      request.owner,
      request.leaseMs,
      this.ordered ? request.window : 0,
      request.floor ?? 0,
    );
    return claimResult(reply);
  }

  /** Returns, per item, whether it was completed (false: the claim is no longer the caller's). */
  async complete(items: readonly CompleteItem[]): Promise<boolean[]> {
    const k = this.keys;
    const triples: (string | number)[] = [];
    // A done seq keeps its output without the closing brace: emit.lua appends the sequencer's timestamps.
    for (const item of items)
      triples.push(item.seq, item.token, this.ordered ? item.body.slice(0, -1) : item.body, item.createdAt, item.processedAt);
    const codes = await writeAcked(
      this.redis,
      this,
      'inorderComplete',
      ...scriptKeys('inorderComplete', k),
      this.ordering,
      this.ordered ? this.channels.results : '',
      this.tag,
      ...triples,
    );
    return codes.map((c) => c === 1);
  }

  /** Returns, per item, whether it was settled, and the earliest retry it scheduled (Redis clock). */
  async fail(items: readonly FailItem[]): Promise<{ settled: boolean[]; dueAt: number | undefined }> {
    const k = this.keys;
    const tuples: (string | number)[] = [];
    for (const item of items) tuples.push(item.seq, item.token, item.action, item.action === 'retry' ? item.delayMs : 0, item.body);
    const [codes, dueAt] = await writeAcked(
      this.redis,
      this,
      'inorderFail',
      ...scriptKeys('inorderFail', k),
      this.ordering,
      this.ordered ? this.channels.results : '',
      this.tag,
      this.channels.input,
      ...tuples,
    );
    return { settled: codes.map((c) => c === 1), dueAt: dueAt === -1 ? undefined : dueAt };
  }

  /** Renews `owner`'s liveness, reaps dead owners, and reconciles the claims it holds. */
  async heartbeat(owner: string, leaseMs: number, tokens: readonly string[]): Promise<HeartbeatResult> {
    const k = this.keys;
    const [alive, gone, returned, now] = await this.redis.inorderHeartbeat(
      ...scriptKeys('inorderHeartbeat', k),
      this.ordering,
      owner,
      leaseMs,
      this.channels.input,
      this.tag,
      ...tokens,
    );
    return { alive: alive === 1, gone, returned, now };
  }

  /** Gives claims back without counting the attempt; with `owner`, also ends its liveness here. */
  async release(tokens: readonly string[], owner = ''): Promise<number> {
    if (tokens.length === 0 && owner === '') return 0;
    const k = this.keys;
    return this.redis.inorderRelease(...scriptKeys('inorderRelease', k), this.ordering, owner, this.channels.input, this.tag, ...tokens);
  }

  /** Takes a new fencing token for a new leader; `floor` raises meta "accepted" (0 = none). */
  async fence(owner: string, floor = 0): Promise<{ fence: string; next: number }> {
    const [fence, next] = await this.redis.inorderFence(...scriptKeys('inorderFence', this.keys), owner, this.seqStart, floor);
    return { fence, next: Number(next) };
  }

  async emit(request: EmitRequest): Promise<EmitResult> {
    const k = this.keys;
    const done = request.done ?? [];
    const tail: (string | number)[] = [done.length, ...done];
    for (const stretch of request.run) tail.push(stretch.count, stretch.sequencingAt);
    const reply = await writeAcked(
      this.redis,
      this,
      'inorderEmit',
      ...scriptKeys('inorderEmit', k),
      request.fence,
      request.next,
      request.now,
      request.skipTo ?? 0,
      request.lostUpTo ?? 0,
      this.channels.input,
      this.tag,
      ...tail,
    );
    return emitResult(reply);
  }

  /** The state of seq `next` and what waits elsewhere; puts an orphaned claim of it back. */
  async probe(next: number): Promise<Probe> {
    const k = this.keys;
    const reply = await this.redis.inorderProbe(...scriptKeys('inorderProbe', k), next, this.channels.input, this.tag);
    return probeResult(reply);
  }

  /** Results stream entries after `afterId` ("0-0" for all), oldest first. */
  async readSettled(afterId: string, count: number): Promise<SettledEntry[]> {
    const entries = await this.redis.xrange(this.keys.results, `(${afterId}`, '+', 'COUNT', count);
    return entries.map(([id, fields]) => settledEntry(id, fields));
  }

  /**
   * Deletes results stream entries that name no seq at or past next (emitted already): outside
   * the fenced emit, which is harmless. A failure leaves them for the next leader's rebuild.
   */
  async dropSettled(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.redis.xdel(this.keys.results, ...ids);
  }

  /**
   * A page of the output list: at most `count` entries from position `from` (0 = the head), as
   * stored, and the list's length, read in one MULTI. Reading removes nothing.
   */
  readOutput(from: number, count: number): Promise<ListPage> {
    return readListPage(this.redis, this.keys.output, from, count);
  }

  /** A page of the dead-letter list (0 = the oldest record), as stored, and its length; removes nothing. */
  readDead(from: number, count: number): Promise<ListPage> {
    return readListPage(this.redis, this.keys.dead, from, count);
  }

  /** The partition's counters and why it is not moving, read in one MULTI. */
  status(): Promise<PartitionStatus> {
    return readStatus(this.redis, this.keys, this.partition, this.ordered);
  }

  /** Records why the order is not moving (meta "stall", JSON); emit.lua clears it when it moves. */
  async noteStall(stall: object): Promise<void> {
    await this.redis.hset(this.keys.meta, 'stall', JSON.stringify(stall));
  }
}
