/**
 * What every chaos fault works with: the run's context, the shape of a fault's result, and the
 * polling that times a recovery (every POLL_MS on the chaos tool's own connection).
 */
import type { PartitionKeys, RedisClient } from '@inorder/shared';
import { waitFor, type RedisServer } from '@inorder/testkit';
import type { FaultKind } from './chaos-plan.js';
import type { ServiceGroup } from './stack.js';

export interface FaultContext {
  client: RedisClient;
  keys: PartitionKeys;
  services: ServiceGroup;
  localRedis: RedisServer | undefined;
  /** epoch ms of the run's first enqueue */
  startedAt: number;
  leaderLeaseMs: number;
  claimLeaseMs: number;
  /** longest wait for a recovery */
  recoveryTimeoutMs: number;
}

export interface FaultResult {
  kind: FaultKind;
  /** seconds since the first enqueue */
  at: number;
  label: string;
  /** null: not recovered within the timeout */
  recoveryMs: number | null;
  details: Record<string, unknown>;
}

/** How often a recovery is polled, in ms. */
export const POLL_MS = 5;

/** When `check` first held (epoch ms), polled every POLL_MS; null when it did not within `timeoutMs`. Errors count as false. */
export function firstHeld(check: () => Promise<boolean>, timeoutMs: number): Promise<number | null> {
  return waitFor(check, { timeoutMs, intervalMs: POLL_MS }).then(
    () => Date.now(),
    () => null,
  );
}

/** The partition's `next` seq and leader fence, from its meta hash. */
export async function readMeta(ctx: FaultContext): Promise<{ next: number; fence: string }> {
  const [next, fence] = await ctx.client.hmget(ctx.keys.meta, 'next', 'fence');
  return { next: Number(next ?? 0), fence: fence ?? '' };
}

/** Seconds from the run's first enqueue to `at`, to two decimals. */
function since(ctx: FaultContext, at: number): number {
  return Math.round((at - ctx.startedAt) / 10) / 100;
}

/** A fault's result: when it struck (seconds into the run), and its recovery time from `recoveredAt` (null: none). */
export function faultResult(
  ctx: FaultContext,
  kind: FaultKind,
  at: number,
  label: string,
  recoveredAt: number | null,
  details: Record<string, unknown>,
): FaultResult {
  return { kind, at: since(ctx, at), label, recoveryMs: recoveredAt === null ? null : recoveredAt - at, details };
}
