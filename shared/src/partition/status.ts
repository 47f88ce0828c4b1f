import type { RedisClient } from '../redis.js';
import { parseFence } from './fence.js';
import type { PartitionKeys } from './keys.js';

/** A partition's state at one moment, as GET /v1/pipelines/:pipeline and the tools report it. */
export interface PartitionStatus {
  partition: number;
  /** envelopes waiting to be claimed: the input list (strict) or the priority queue (none) */
  inputDepth: number;
  /** strict input held back because its seq is a WINDOW or more ahead of next */
  parked: number;
  /** seqs under an open claim */
  inFlight: number;
  /** open claims (one per processor batch) */
  claims: number;
  /** processors whose liveness is recorded here (live or not yet reaped) */
  processors: number;
  /** retries waiting for their backoff */
  retrying: number;
  /** results stream entries waiting to be emitted (each names the seqs one settle call settled) */
  resultsBacklog: number;
  /** the next seq the sequencer emits (strict); null before any service initialised the partition */
  nextSeq: number | null;
  /** the highest seq ever accepted into the partition (submitted, enqueued or claimed) */
  accepted: number;
  /** the last seq the ingest assigned, null when none */
  lastAssignedSeq: number | null;
  /** where seqs come from: "assigned" by the ingest, "given" by producers, null before the first submit */
  seqSource: string | null;
  /** the current fence and whether its leader still holds the lease (strict pipelines) */
  leader: { owner: string; epoch: number; fence: string; leaseHeld: boolean } | null;
  outputLength: number;
  /** entries now in the dead-letter list, and dead letters ever recorded */
  deadLetters: number;
  deadTotal: number;
  /** seqs ever skipped as gaps, and of those, seqs that had been accepted (lost by Redis) */
  skipped: number;
  lost: number;
  emitted: number;
  /** copies of a seq dropped as duplicates */
  duplicates: number;
  /** createdAt of the message at the head of the input (the oldest waiting), null when none or unreadable */
  oldestCreatedAt: number | null;
  /** epoch ms (leader's clock) the order last moved, null when it never did */
  movedAt: number | null;
  /**
   * Why the order is not moving, when it is not while work waits: the leader's last stall report
   * (`waiting for seq N: ...`), or no leader at all. null when it is moving or idle.
   */
  stalled: { reason: string; seq?: number; since?: number } | null;
}

const num = (v: string | null | undefined): number => (v ? Number(v) : 0);
const numOrNull = (v: string | null | undefined): number | null => (v ? Number(v) : null);

/** What one status read brings back, in the MULTI's order. */
type StatusReplies = [
  number,
  number,
  number,
  string[],
  number,
  number,
  number,
  (string | null)[],
  number,
  number,
  number,
  string | null,
  string[],
];

/** Reads one partition's counters in one MULTI (a consistent snapshot: all keys share a slot). */
export async function readStatus(redis: RedisClient, k: PartitionKeys, partition: number, strict: boolean): Promise<PartitionStatus> {
  return statusFrom(await readReplies(redis, k), partition, strict);
}

async function readReplies(redis: RedisClient, k: PartitionKeys): Promise<StatusReplies> {
  const replies = await redis
    .multi()
    .llen(k.input)
    .zcard(k.queue)
    .zcard(k.parked)
    .hvals(k.claims)
    .zcard(k.owners)
    .zcard(k.delayed)
    .xlen(k.results)
    .hmget(
      k.meta,
      'next',
      'assigned',
      'seqSource',
      'fence',
      'dead',
      'skipped',
      'emitted',
      'accepted',
      'lost',
      'duplicates',
      'movedAt',
      'stall',
    )
    .pttl(k.leader)
    .llen(k.output)
    .llen(k.dead)
    .lindex(k.input, 0)
    .zrange(k.queue, 0, 0)
    .exec();
  if (!replies) throw new Error('status read was aborted');
  return replies.map(([error, value]) => {
    if (error) throw error;
    return value;
  }) as StatusReplies;
}

function statusFrom(replies: StatusReplies, partition: number, strict: boolean): PartitionStatus {
  const [input, queue, parked, claims, processors, delayed, results, meta, leaderTtl, output, dead, head, queueHead] = replies;
  const [next, assigned, seqSource, fenceText, deadTotal, skipped, emitted, accepted, lost, duplicates, movedAt, stall] = meta;
  const fence = parseFence(fenceText);
  const leaseHeld = leaderTtl > 0 || leaderTtl === -1;
  const inFlight = claims.reduce((sum, v) => sum + (Number(v.slice(0, v.indexOf('|'))) || 0), 0);
  const waiting = input + queue + parked + inFlight + delayed + results > 0;
  return {
    partition,
    inputDepth: input + queue,
    parked,
    inFlight,
    claims: claims.length,
    processors,
    retrying: delayed,
    resultsBacklog: results,
    nextSeq: numOrNull(next),
    accepted: num(accepted),
    lastAssignedSeq: numOrNull(assigned),
    seqSource: seqSource ?? null,
    leader: fence && fenceText ? { owner: fence.owner, epoch: fence.epoch, fence: fenceText, leaseHeld } : null,
    outputLength: output,
    deadLetters: dead,
    deadTotal: num(deadTotal),
    skipped: num(skipped),
    lost: num(lost),
    emitted: num(emitted),
    duplicates: num(duplicates),
    oldestCreatedAt: createdAtOf(head ?? queueHead[0] ?? null),
    movedAt: numOrNull(movedAt),
    stalled: stalledFrom(stall ?? null, strict && waiting && !leaseHeld),
  };
}

/** The createdAt of a raw envelope, read without parsing it whole (it may be large). */
function createdAtOf(raw: string | null): number | null {
  const m = raw ? /"createdAt":(\d{1,16})[,}]/.exec(raw) : null;
  return m ? Number(m[1]) : null;
}

function stalledFrom(stall: string | null, leaderless: boolean): PartitionStatus['stalled'] {
  if (leaderless) return { reason: 'no sequencer holds the leader lease: are sequencers running?' };
  if (!stall) return null;
  try {
    const parsed = JSON.parse(stall) as { reason?: unknown; seq?: unknown; at?: unknown };
    return {
      reason: typeof parsed.reason === 'string' ? parsed.reason : 'stalled',
      ...(typeof parsed.seq === 'number' ? { seq: parsed.seq } : {}),
      ...(typeof parsed.at === 'number' ? { since: parsed.at } : {}),
    };
  } catch {
    return { reason: 'stalled (unreadable report)' };
  }
}
