import type { RedisClient } from '../redis.js';
import { InorderError } from '../errors.js';
import { getPipeline, setPartitionCount } from '../registry.js';
import { keysFor, type PartitionKeys } from './keys.js';
import { MAX_PARTITIONS } from './spec.js';
import { readStatus } from './status.js';

/** What still holds one partition of a pipeline being resized: all zero once it has drained. */
export interface PartitionBacklog {
  partition: number;
  /** in the input list or priority queue, parked ahead of the window, or waiting for a retry */
  waiting: number;
  /** under a processor's claim */
  inFlight: number;
  /** copies held while their seq's other copy is judged */
  held: number;
  /** results stream entries not yet emitted */
  unsettled: number;
  /** strict pipelines: seqs accepted and not yet emitted or skipped */
  unemitted: number;
}

export interface ResizeOptions {
  prefix?: string;
  /** how long to wait for the partitions to drain before giving up (default 5 minutes) */
  drainTimeoutMs?: number;
  /** how often the backlog is read while draining (default 250 ms) */
  pollMs?: number;
  /** told the backlog of the partitions not yet drained after each read */
  onProgress?: (backlog: PartitionBacklog[]) => void;
  signal?: AbortSignal;
}

export type ResizeResult = { kind: 'unchanged'; partitions: number } | { kind: 'resized'; from: number; to: number; drainedMs: number };

/** The partitions did not drain in time: the resize was called off and submits are taken again. */
export class DrainTimeoutError extends InorderError {
  constructor(
    readonly pipeline: string,
    readonly to: number,
    readonly backlog: PartitionBacklog[],
    waitedMs: number,
  ) {
    super(
      `pipeline ${pipeline} did not drain within ${waitedMs} ms, so its count was left as it was and submits are taken again; ` +
        `still held: ${backlog.map(describeBacklog).join('; ')}. Check that its processors and sequencers run, then try again`,
    );
  }
}

/** Another resize of the pipeline to another count is under way (or was left unfinished). */
export class ResizeConflictError extends InorderError {
  constructor(
    readonly pipeline: string,
    readonly partition: number,
    readonly target: string,
  ) {
    super(
      `partition ${partition} of pipeline ${pipeline} is being resized to ${target} partitions by another run: ` +
        `let it finish, run the command again with --to ${target} to finish it, or cancel it with --cancel`,
    );
  }
}

/** "partition 2: 14 waiting, 3 in flight" */
export function describeBacklog(b: PartitionBacklog): string {
  const parts = [
    b.waiting && `${b.waiting} waiting`,
    b.inFlight && `${b.inFlight} in flight`,
    b.held && `${b.held} held copies`,
    b.unsettled && `${b.unsettled} results not yet emitted`,
    b.unemitted && `${b.unemitted} seqs not yet emitted`,
  ].filter(Boolean);
  return `partition ${b.partition}: ${parts.join(', ') || 'drained'}`;
}

const drained = (b: PartitionBacklog): boolean => b.waiting + b.inFlight + b.held + b.unsettled + b.unemitted === 0;

/**
 * Changes a pipeline's partition count, the one safe way: an ordering key picks its partition by
 * the count, so while messages sit in partitions routed by the old count, a new count would put
 * a key's next messages in another partition and they could overtake the earlier ones.
 *
 * 1. Every partition refuses submits (meta "resizing" = the target; the ingest answers 503 with
 *    Retry-After, enqueue() throws PipelineResizingError). Processors and sequencers go on.
 * 2. Waits until every partition has drained: nothing waiting, claimed, held, unsettled or
 *    unemitted. Past `drainTimeoutMs` (or on `signal`) it calls the resize off (submits are
 *    taken again, the count is unchanged) and throws DrainTimeoutError naming what is left.
 * 3. Records the new count in every partition's meta "partitions", old and new, then in the
 *    registry: a submit routed by the old count (a registry read from before) is refused and
 *    routed again, so no key is split.
 * 4. Takes submits again. Processors and sequencers serving `all` partitions pick up the new
 *    count at their next registry read (every 2 s); removed partitions keep their output and
 *    dead letters, readable until deleted.
 *
 * Running it again with the same target finishes a run that stopped half way.
 */
export async function resizePipeline(redis: RedisClient, pipeline: string, to: number, options: ResizeOptions = {}): Promise<ResizeResult> {
  if (!Number.isInteger(to) || to < 1 || to > MAX_PARTITIONS)
    throw new RangeError(`the partition count must be from 1 to ${MAX_PARTITIONS}, got ${to}`);
  const { prefix = 'inorder', drainTimeoutMs = 300_000, pollMs = 250 } = options;
  const settings = await getPipeline(redis, pipeline, prefix);
  if (!settings) throw new InorderError(`pipeline ${pipeline} is not registered`);
  const from = settings.partitions;
  const old = range(from).map((p) => keysFor(pipeline, p, prefix));
  const targets = await Promise.all(old.map((k) => redis.hget(k.meta, 'resizing')));
  if (to === from && targets.every((t) => t === null)) return { kind: 'unchanged', partitions: from };

  await freeze(redis, pipeline, old, String(to));
  const started = Date.now();
  const strict = settings.ordering === 'strict';
  for (;;) {
    const backlog = (await Promise.all(old.map((k, p) => backlogOf(redis, k, p, strict)))).filter((b) => !drained(b));
    if (backlog.length === 0) break;
    options.onProgress?.(backlog);
    if (Date.now() - started >= drainTimeoutMs || options.signal?.aborted) {
      await thaw(redis, old);
      throw new DrainTimeoutError(pipeline, to, backlog, Date.now() - started);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  for (const p of range(Math.max(from, to))) await redis.hset(keysFor(pipeline, p, prefix).meta, 'partitions', String(to));
  await setPartitionCount(redis, pipeline, to, prefix);
  await thaw(redis, old);
  return { kind: 'resized', from, to, drainedMs: Date.now() - started };
}

/**
 * Calls off a resize left unfinished (its process killed): the partitions take submits again,
 * routed by the registry's count, which is put back into each partition's meta.
 */
export async function cancelResize(
  redis: RedisClient,
  pipeline: string,
  prefix = 'inorder',
): Promise<{ partitions: number; cancelled: number }> {
  const settings = await getPipeline(redis, pipeline, prefix);
  if (!settings) throw new InorderError(`pipeline ${pipeline} is not registered`);
  const count = settings.partitions;
  let cancelled = 0;
  for (let p = 0; p < MAX_PARTITIONS; p++) {
    const meta = keysFor(pipeline, p, prefix).meta;
    const [resizing, partitions] = await redis.hmget(meta, 'resizing', 'partitions');
    if (p >= count && partitions === null) break;
    if (resizing !== null) cancelled++;
    if (p < count && partitions !== null) await redis.hset(meta, 'partitions', String(count));
    if (p >= count) await redis.hdel(meta, 'partitions');
    await redis.hdel(meta, 'resizing');
  }
  return { partitions: count, cancelled };
}

/** Sets "resizing" on every partition, or undoes what it set and throws when another target holds one. */
async function freeze(redis: RedisClient, pipeline: string, keys: PartitionKeys[], target: string): Promise<void> {
  const set: PartitionKeys[] = [];
  for (const [p, k] of keys.entries()) {
    if ((await redis.hsetnx(k.meta, 'resizing', target)) === 1) {
      set.push(k);
      continue;
    }
    const holder = await redis.hget(k.meta, 'resizing');
    if (holder !== null && holder !== target) {
      await thaw(redis, set);
      throw new ResizeConflictError(pipeline, p, holder);
    }
  }
}

async function thaw(redis: RedisClient, keys: PartitionKeys[]): Promise<void> {
  for (const k of keys) await redis.hdel(k.meta, 'resizing');
}

/** What still holds one partition, from one consistent status read and its held copies. */
export async function backlogOf(redis: RedisClient, keys: PartitionKeys, partition: number, strict: boolean): Promise<PartitionBacklog> {
  const [status, held] = await Promise.all([readStatus(redis, keys, partition, strict), redis.hlen(keys.held)]);
  const unemitted = strict && status.nextSeq !== null ? Math.max(0, status.accepted - status.nextSeq + 1) : 0;
  return {
    partition,
    waiting: status.inputDepth + status.parked + status.retrying,
    inFlight: status.inFlight,
    held,
    unsettled: status.resultsBacklog,
    unemitted,
  };
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
