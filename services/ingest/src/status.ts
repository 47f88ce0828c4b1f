import { keysFor, type PipelineSettings, type RedisClient } from '@inorder/shared';

/** What GET /v1/pipelines/:pipeline reports for one partition. */
export interface PartitionStatus {
  partition: number;
  /** envelopes waiting to be claimed: the input list (strict) or the priority queue (none), plus returned ones */
  inputDepth: number;
  /** seqs under an open claim (listed by the claims' batches) */
  inFlight: number;
  /** open claims (leases) */
  claims: number;
  /** retries waiting for their backoff */
  retrying: number;
  /** entries of the results stream waiting to be emitted (each holds one processor batch) */
  resultsBacklog: number;
  /** the next seq the sequencer emits (strict); null before any service initialised the partition */
  nextSeq: number | null;
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
  /** seqs ever skipped as gaps */
  skipped: number;
  emitted: number;
}

const num = (v: string | null | undefined): number => (v ? Number(v) : 0);
const numOrNull = (v: string | null | undefined): number | null => (v ? Number(v) : null);

/** Reads one partition's counters in one MULTI (a consistent snapshot; all keys share a slot). */
export async function partitionStatus(redis: RedisClient, pipeline: string, partition: number, prefix: string): Promise<PartitionStatus> {
  const k = keysFor(pipeline, partition, prefix);
  const replies = await redis
    .multi()
    .llen(k.input)
    .zcard(k.queue)
    .hvals(k.batches)
    .zcard(k.leases)
    .zcard(k.delayed)
    .xlen(k.results)
    .hmget(k.meta, 'next', 'assigned', 'seqSource', 'fence', 'dead', 'skipped', 'emitted')
    .pttl(k.leader)
    .llen(k.output)
    .llen(k.dead)
    .exec();
  if (!replies) throw new Error('status read was aborted');
  const values = replies.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
  const [input, queue, batches, leases, delayed, results, meta, leaderTtl, output, dead] = values as [
    number, number, string[], number, number, number, (string | null)[], number, number, number,
  ];
  const [next, assigned, seqSource, fence, deadTotal, skipped, emitted] = meta;
  return {
    partition,
    inputDepth: input + queue,
    inFlight: batches.reduce((sum, list) => sum + (list ? list.split(',').length : 0), 0),
    claims: leases,
    retrying: delayed,
    resultsBacklog: results,
    nextSeq: numOrNull(next),
    lastAssignedSeq: numOrNull(assigned),
    seqSource: seqSource ?? null,
    leader: fence ? parseFence(fence, leaderTtl > 0 || leaderTtl === -1) : null,
    outputLength: output,
    deadLetters: dead,
    deadTotal: num(deadTotal),
    skipped: num(skipped),
    emitted: num(emitted),
  };
}

function parseFence(fence: string, leaseHeld: boolean): { owner: string; epoch: number; fence: string; leaseHeld: boolean } {
  const at = fence.lastIndexOf(':');
  return { owner: fence.slice(0, at), epoch: Number(fence.slice(at + 1)), fence, leaseHeld };
}

export interface PipelineStatus {
  pipeline: string;
  ordering: PipelineSettings['ordering'];
  partitions: PartitionStatus[];
}

export async function pipelineStatus(redis: RedisClient, pipeline: string, settings: PipelineSettings, prefix: string): Promise<PipelineStatus> {
  const partitions: PartitionStatus[] = [];
  for (let p = 0; p < settings.partitions; p++) partitions.push(await partitionStatus(redis, pipeline, p, prefix));
  return { pipeline, ordering: settings.ordering, partitions };
}
