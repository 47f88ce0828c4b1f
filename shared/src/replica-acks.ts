import { performance } from 'node:perf_hooks';
import { Cluster, type Redis } from 'ioredis';
import { ReplicaAckError } from './errors.js';
import type { RedisClient } from './redis.js';

/**
 * Replica acknowledgement of the write steps (REPLICA_ACKS): after a submit, a completion, a
 * failure or an emit, `WAIT replicas timeout` on the same connection, so that the step is
 * acknowledged (the ingest's 202, the processor's settle, the leader's next emit) only once that
 * many replicas hold it, or the timeout has passed. WAIT does not make Redis strongly
 * consistent: a write whose WAIT came back short is reported (onShort) and still stands on the
 * primary, which may lose it in a failover; and a write is visible on the primary before its
 * WAIT returns. What it does give: a write whose WAIT counted `replicas` replicas survives the
 * loss of its primary when one of them is promoted (README, "Redis Cluster and ElastiCache").
 */
export interface ReplicaAcks {
  /** replicas that must hold each write step before it counts as done; 0 = no WAIT */
  replicas: number;
  /** the longest one WAIT blocks, ms (at least 1: WAIT with 0 would block for ever) */
  timeoutMs: number;
  /** told about each WAIT that came back with fewer replicas than asked */
  onShort?: ((short: ShortAck) => void) | undefined;
}

/** The write steps that wait for replicas. */
export type AckedStep = 'submit' | 'complete' | 'fail' | 'emit';

/** A WAIT that came back short: the step stands on the primary, not (yet) on `replicas` replicas. */
export interface ShortAck {
  step: AckedStep;
  pipeline: string;
  partition: number;
  wanted: number;
  acked: number;
  waitedMs: number;
}

const STEPS = { inorderSubmit: 'submit', inorderComplete: 'complete', inorderFail: 'fail', inorderEmit: 'emit' } as const;
type AckedScript = keyof typeof STEPS;
type Call<N extends AckedScript> = Parameters<Redis[N]>;
type Reply<N extends AckedScript> = Awaited<ReturnType<Redis[N]>>;
type Replies = Array<[Error | null, unknown]>;
type Sender = Record<string, (...args: unknown[]) => unknown>;

const policies = new WeakMap<RedisClient, ReplicaAcks>();

/** Makes every acknowledged write step on `redis` wait for replicas (none with `replicas` 0 or undefined). */
export function setReplicaAcks(redis: RedisClient, acks: ReplicaAcks | undefined): void {
  if (!acks || acks.replicas === 0) {
    policies.delete(redis);
    return;
  }
  if (!Number.isInteger(acks.replicas) || acks.replicas < 0)
    throw new RangeError(`replica acks must be a non-negative integer, got ${acks.replicas}`);
  if (!Number.isInteger(acks.timeoutMs) || acks.timeoutMs < 1)
    throw new RangeError(`the replica acks timeout must be at least 1 ms, got ${acks.timeoutMs}`);
  policies.set(redis, acks);
}

/**
 * Cluster replies on which the write did not run: TRYAGAIN and CLUSTERDOWN (a slot migration, a
 * failover), ASK (the slot is migrating and the keys have left: the step waits for the migration
 * to end rather than follow ASK, so that its WAIT stays on the node that runs it) and MOVED (the
 * slot has moved: the slot map is read again first). The pipeline goes out again, as ioredis
 * sends a plain command again: 100 ms apart, 16 times at most, then the error is the caller's.
 */
const RETRY_REPLY = /^(TRYAGAIN|CLUSTERDOWN|ASK|MOVED)\b/;
const CLUSTER_RETRIES = 16;
const CLUSTER_RETRY_MS = 100;

type Where = { pipeline: string; partition: number };

/**
 * Runs write step `name` on `redis`. Without replica acks, as a plain call. With them, the step
 * and a WAIT go out together in one pipeline, so that the WAIT runs on the connection and node
 * that ran the step, right after it. A connection that drops mid-pipeline fails the rest of the
 * pipeline rather than send it again on a new connection (where a WAIT would count nothing of
 * this write): the step is then not acknowledged, ReplicaAckError.
 */
export async function writeAcked<N extends AckedScript>(redis: RedisClient, where: Where, name: N, ...args: Call<N>): Promise<Reply<N>> {
  const acks = policies.get(redis);
  if (!acks) return (redis as unknown as Sender)[name]!(...args) as Promise<Reply<N>>;
  const at = { pipeline: where.pipeline, partition: where.partition, step: STEPS[name] };
  const startedAt = performance.now();
  for (let attempt = 1; ; attempt++) {
    const pipeline = redis.pipeline() as unknown as Sender & { exec(): Promise<Replies | null> };
    pipeline[name]!(...args);
    pipeline.wait!(acks.replicas, acks.timeoutMs);
    const [written, waited] = (await pipeline.exec()) ?? [];
    const error = written ? written[0] : new Error('the pipeline was aborted');
    if (!error) {
      checkWait(acks, at, waited, startedAt);
      return written![1] as Reply<N>;
    }
    if (!(redis instanceof Cluster) || !RETRY_REPLY.test(error.message) || attempt >= CLUSTER_RETRIES) throw error;
    if (error.message.startsWith('MOVED')) await new Promise<void>((resolve) => redis.refreshSlotsCache(() => resolve()));
    await new Promise((resolve) => setTimeout(resolve, CLUSTER_RETRY_MS));
  }
}

/**
 * The replicas a WAIT counted; a short count is reported. A WAIT that failed (the connection
 * dropped after the write ran) throws ReplicaAckError: the step is not acknowledged.
 */
function checkWait(
  acks: ReplicaAcks,
  where: Where & { step: AckedStep },
  waited: [Error | null, unknown] | undefined,
  startedAt: number,
): void {
  const error = waited ? waited[0] : new Error('no reply to WAIT');
  if (error) throw new ReplicaAckError(where.step, { cause: error });
  const acked = Number(waited![1]);
  if (acked >= acks.replicas) return;
  acks.onShort?.({ ...where, wanted: acks.replicas, acked, waitedMs: Math.round(performance.now() - startedAt) });
}
