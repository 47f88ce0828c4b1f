/**
 * Every Redis key of one partition, under one hash tag so that each Lua script touches a single
 * cluster slot and partitions spread over a Redis Cluster.
 */
export interface PartitionKeys {
  /** list: raw envelopes waiting to be claimed; the head is claimed first (strict pipelines) */
  readonly input: string;
  /**
   * zset: raw envelopes waiting to be claimed, lowest score first (unordered pipelines);
   * score = priority * 2^40 + arrival number, so equal priorities are first-in first-out
   */
  readonly queue: string;
  /** list: holds one entry exactly while `queue` is non-empty, so processors can block on it */
  readonly signal: string;
  /** hash: seq -> state of every seq between claim and emit */
  readonly state: string;
  /** zset: claim token -> lease deadline (epoch ms) */
  readonly leases: string;
  /** hash: claim token -> comma-separated seqs of that claim */
  readonly batches: string;
  /** zset: seq -> due time of a scheduled retry */
  readonly delayed: string;
  /** stream: completed results and tombstones, waiting to be emitted in order */
  readonly results: string;
  /** list: results in strict seq order */
  readonly output: string;
  /** list: dead-letter records */
  readonly dead: string;
  /** zset: seq -> time it was skipped as a gap */
  readonly skipped: string;
  /** hash: layout, next, epoch, fence, emitted, dead, skipped, arrival, assigned, seqSource */
  readonly meta: string;
  /** string: the sequencer leader's Redlock lease */
  readonly leader: string;
  /** hash: message id -> the seq it got when first submitted (ingest dedupe, pruned after its TTL) */
  readonly dedupe: string;
  /** zset: message id -> epoch ms it was first submitted; drives pruning of `dedupe` */
  readonly dedupeAt: string;
}

const NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/** Throws when a pipeline name could break the key scheme (braces, colons, spaces). */
export function assertPipelineName(pipeline: string): void {
  if (!NAME.test(pipeline)) {
    throw new RangeError(
      `pipeline name ${JSON.stringify(pipeline)} must be 1-100 characters of A-Z a-z 0-9 _ . -`,
    );
  }
}

export function keysFor(pipeline: string, partition: number, prefix = 'inorder'): PartitionKeys {
  assertPipelineName(pipeline);
  if (!Number.isInteger(partition) || partition < 0) {
    throw new RangeError(`partition must be a non-negative integer, got ${partition}`);
  }
  const base = `${prefix}:{${pipeline}:${partition}}:`;
  return {
    input: `${base}input`,
    queue: `${base}queue`,
    signal: `${base}signal`,
    state: `${base}state`,
    leases: `${base}leases`,
    batches: `${base}batches`,
    delayed: `${base}delayed`,
    results: `${base}results`,
    output: `${base}output`,
    dead: `${base}dead`,
    skipped: `${base}skipped`,
    meta: `${base}meta`,
    leader: `${base}leader`,
    dedupe: `${base}dedupe`,
    dedupeAt: `${base}dedupeAt`,
  };
}

/** hash: pipeline name -> JSON settings ({ ordering, partitions, createdAt }); no hash tag */
export function registryKey(prefix = 'inorder'): string {
  return `${prefix}:pipelines`;
}

/** Score of an unordered pipeline's queue entry: lower priority number first, then arrival. */
export const PRIORITY_SHIFT = 2 ** 40;
export const PRIORITY_MIN = -1000;
export const PRIORITY_MAX = 1000;
