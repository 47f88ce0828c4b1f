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
  /** zset: raw envelope -> seq: strict input held back until the window admits its seq */
  readonly parked: string;
  /** hash: seq -> state of every seq between claim and emit (see `SeqState`) */
  readonly state: string;
  /** hash: seq -> a copy of it held while another message's claim of the seq is not yet judged */
  readonly held: string;
  /** hash: claim token -> "remaining|seq,seq,...": the seqs of each claim and how many are unsettled */
  readonly claims: string;
  /** zset: processor (owner) -> liveness deadline (epoch ms, Redis clock), renewed by its heartbeat */
  readonly owners: string;
  /** zset: seq -> due time of a scheduled retry (epoch ms, Redis clock) */
  readonly delayed: string;
  /** stream: entries { s: "seq,seq,..." } naming settled seqs, waiting to be emitted in order */
  readonly results: string;
  /** list: results in strict seq order */
  readonly output: string;
  /** list: dead-letter records */
  readonly dead: string;
  /** zset: "from-to" -> from: each range of seqs skipped as a gap (or lost) */
  readonly skipped: string;
  /** hash: the partition's metadata (README, "Redis keys") */
  readonly meta: string;
  /** string: the sequencer leader's Redlock lease */
  readonly leader: string;
  /** hash: message id -> the seq it got when first submitted (ingest dedupe, pruned after its TTL) */
  readonly dedupe: string;
  /** zset: message id -> epoch ms it was first submitted; drives pruning of `dedupe` */
  readonly dedupeAt: string;
}

/** What a pipeline name may hold: nothing that could break the key scheme (braces, colons, spaces). */
export const PIPELINE_NAME = /^[A-Za-z0-9_.-]{1,100}$/;
export const PIPELINE_NAME_RULE = 'must be 1-100 characters of A-Z a-z 0-9 _ . -';

/** Throws when a pipeline name could break the key scheme. */
export function assertPipelineName(pipeline: string): void {
  if (!PIPELINE_NAME.test(pipeline)) throw new RangeError(`pipeline name ${JSON.stringify(pipeline)} ${PIPELINE_NAME_RULE}`);
}

/** The key prefix when none is configured. */
export const DEFAULT_PREFIX = 'inorder';

export function keysFor(pipeline: string, partition: number, prefix = DEFAULT_PREFIX): PartitionKeys {
  assertPipelineName(pipeline);
  if (!Number.isInteger(partition) || partition < 0) {
    throw new RangeError(`partition must be a non-negative integer, got ${partition}`);
  }
  const base = `${prefix}:{${pipeline}:${partition}}:`;
  return {
    input: `${base}input`,
    queue: `${base}queue`,
    parked: `${base}parked`,
    state: `${base}state`,
    held: `${base}held`,
    claims: `${base}claims`,
    owners: `${base}owners`,
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
export function registryKey(prefix = DEFAULT_PREFIX): string {
  return `${prefix}:pipelines`;
}

/**
 * Where a partition's keys live: its prefix and its tag (`pipeline:partition`, the hash tag of
 * every key and the message of its wake-ups), read back from its keys.
 */
export function addressOf(keys: PartitionKeys): { prefix: string; tag: string } {
  const open = keys.meta.indexOf(':{');
  const close = keys.meta.lastIndexOf('}:');
  return { prefix: keys.meta.slice(0, open), tag: keys.meta.slice(open + 2, close) };
}

/** zset: sequencer instance -> liveness deadline: the group that shares the partitions' leaderships. */
export function sequencersKey(prefix = DEFAULT_PREFIX): string {
  return `${prefix}:sequencers`;
}

/**
 * Pub/Sub channels on which the Lua steps wake the processes that wait for a partition: `input`
 * (processors: something to claim) and `results` (sequencers: something settled). The message
 * is the partition's tag. A hint only: every waiter also polls.
 */
export function wakeChannels(prefix = DEFAULT_PREFIX): { input: string; results: string } {
  return { input: `${prefix}:wake:input`, results: `${prefix}:wake:results` };
}

/** Score of an unordered pipeline's queue entry: lower priority number first, then arrival. */
export const PRIORITY_SHIFT = 2 ** 40;
export const PRIORITY_MIN = -1000;
export const PRIORITY_MAX = 1000;
