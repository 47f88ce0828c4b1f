/**
 * The faults chaos injects, each with its recovery measured from Redis, polled every 5 ms on the
 * chaos tool's own connection:
 *
 *   processor-kill  SIGKILL a processor, restart it. Recovered when `next` has passed every seq
 *                   the dead processor held: its claims were reaped, redone and emitted in order
 *                   (so at least the claim lease). Holding none: when the restart is ready.
 *   leader-kill     SIGKILL the sequencer leader, restart it (it comes back as a standby).
 *                   Recovered at the first emit by a new leader: the fence has changed and
 *                   `next` moved past where the dead leader left it.
 *   leader-pause    SIGSTOP the leader for 2.5 leases, then SIGCONT. Recovered at the first emit
 *                   by a new leader (as above); also records whether the paused one stepped down.
 *   client-kill     CLIENT KILL TYPE normal and TYPE pubsub (SKIPME yes: not this connection).
 *                   Recovered when every service connection is back and `next` moved again.
 *   redis-restart   stop redis-server (SIGTERM: the append-only file is complete) and start it
 *                   on the same port. Recovered when `next` moved past its value before the stop.
 */
import type { RedisClient } from '@inorder/shared';
import type { PartitionKeys } from '@inorder/shared';
import type { FaultKind, PlannedFault } from './chaos-plan.js';
import type { LocalRedis, ServiceGroup, ServiceHandle } from './stack.js';

export interface FaultContext {
  client: RedisClient;
  keys: PartitionKeys;
  services: ServiceGroup;
  localRedis: LocalRedis | undefined;
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

const POLL_MS = 5;

/** Polls `check` until true; the time it first held, or null after `timeoutMs`. Errors count as false. */
async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return Date.now();
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return null;
}

async function meta(ctx: FaultContext): Promise<{ next: number; fence: string }> {
  const [next, fence] = await ctx.client.hmget(ctx.keys.meta, 'next', 'fence');
  return { next: Number(next ?? 0), fence: fence ?? '' };
}

async function leader(ctx: FaultContext): Promise<ServiceHandle | undefined> {
  const at = await until(async () => (await ctx.services.leader()) !== undefined, 5000);
  return at === null ? undefined : ctx.services.leader();
}

function since(ctx: FaultContext, at: number): number {
  return Math.round((at - ctx.startedAt) / 10) / 100;
}

function result(ctx: FaultContext, kind: FaultKind, at: number, label: string, recoveredAt: number | null, details: Record<string, unknown>): FaultResult {
  return { kind, at: since(ctx, at), label, recoveryMs: recoveredAt === null ? null : recoveredAt - at, details };
}

async function processorKill(ctx: FaultContext, plan: PlannedFault): Promise<FaultResult> {
  const running = ctx.services.processors.filter((p) => p.running);
  const target = running[Math.floor(plan.pick * running.length)];
  if (!target) return result(ctx, 'processor-kill', Date.now(), 'no processor running', null, {});
  const owner = target.instance;
  const at = Date.now();
  target.kill('SIGKILL');
  await target.exited;
  // Its claims are frozen in Redis now: the seqs it held (tokens are "<owner>:<n>").
  const claims = await ctx.client.hgetall(ctx.keys.claims);
  const held = Object.entries(claims)
    .filter(([token]) => owner !== undefined && token.startsWith(`${owner}:`))
    .flatMap(([, value]) => value.slice(value.indexOf('|') + 1).split(',').map(Number));
  const maxHeld = held.length > 0 ? Math.max(...held) : 0;
  const restarted = target.restart().then(() => Date.now());
  const recovered = maxHeld > 0
    ? await until(async () => (await meta(ctx)).next > maxHeld, ctx.recoveryTimeoutMs)
    : await restarted.catch(() => null);
  const readyAt = await restarted.catch(() => null);
  return result(ctx, 'processor-kill', at, `SIGKILL ${target.name} (pid ${target.pid}); restarted`, recovered, {
    process: target.name,
    seqsHeld: held.length,
    restartMs: readyAt === null ? null : readyAt - at,
    claimLeaseMs: ctx.claimLeaseMs,
  });
}

/** Waits for the first emit under a new fence after `before`; returns when it happened and when the fence changed. */
async function firstEmitByNewLeader(ctx: FaultContext, before: { next: number; fence: string }): Promise<{ emitAt: number | null; fenceAt: number | null }> {
  let fenceAt: number | null = null;
  const emitAt = await until(async () => {
    const now = await meta(ctx);
    if (now.fence !== before.fence && fenceAt === null) fenceAt = Date.now();
    return now.fence !== before.fence && now.next > before.next;
  }, ctx.recoveryTimeoutMs);
  return { emitAt, fenceAt };
}

async function leaderKill(ctx: FaultContext): Promise<FaultResult> {
  const target = await leader(ctx);
  if (!target) return result(ctx, 'leader-kill', Date.now(), 'no leader found', null, {});
  const fence = (await meta(ctx)).fence;
  const at = Date.now();
  target.kill('SIGKILL');
  await target.exited;
  const before = { fence, next: (await meta(ctx)).next };
  const restarted = target.restart().catch(() => undefined);
  const { emitAt, fenceAt } = await firstEmitByNewLeader(ctx, before);
  await restarted;
  const now = await meta(ctx).catch(() => undefined);
  return result(ctx, 'leader-kill', at, `SIGKILL leader ${target.name}; restarted as a standby`, emitAt, {
    process: target.name,
    fenceBefore: fence,
    fenceAfter: now?.fence,
    fenceChangedMs: fenceAt === null ? null : fenceAt - at,
    leaderLeaseMs: ctx.leaderLeaseMs,
  });
}

async function leaderPause(ctx: FaultContext): Promise<FaultResult> {
  const target = await leader(ctx);
  if (!target) return result(ctx, 'leader-pause', Date.now(), 'no leader found', null, {});
  const pauseMs = Math.round(ctx.leaderLeaseMs * 2.5);
  const before = await meta(ctx);
  const logsBefore = target.logs.length;
  const at = Date.now();
  target.kill('SIGSTOP');
  const resume = new Promise<void>((resolve) => setTimeout(() => {
    target.kill('SIGCONT');
    resolve();
  }, pauseMs));
  const { emitAt, fenceAt } = await firstEmitByNewLeader(ctx, before);
  await resume;
  // The paused leader must notice, once it runs again, that its lease is gone.
  const steppedDown = await until(async () => target.logs.slice(logsBefore).some((l) => /lease lost|leadership ended|fenced/i.test(l)), 5000);
  return result(ctx, 'leader-pause', at, `SIGSTOP leader ${target.name} for ${pauseMs} ms, then SIGCONT`, emitAt, {
    process: target.name,
    pauseMs,
    fenceChangedMs: fenceAt === null ? null : fenceAt - at,
    pausedLeaderSteppedDown: steppedDown !== null,
  });
}

async function serviceConnections(ctx: FaultContext): Promise<number> {
  const list = (await ctx.client.call('CLIENT', 'LIST')) as string;
  return list.split('\n').filter((l) => /name=inorder-(processor|sequencer)/.test(l)).length;
}

async function clientKill(ctx: FaultContext): Promise<FaultResult> {
  const connections = await serviceConnections(ctx);
  const before = await meta(ctx);
  const at = Date.now();
  const normal = (await ctx.client.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes')) as number;
  const pubsub = (await ctx.client.call('CLIENT', 'KILL', 'TYPE', 'pubsub', 'SKIPME', 'yes')) as number;
  const reconnectedAt = await until(async () => (await serviceConnections(ctx)) >= connections, ctx.recoveryTimeoutMs);
  const movedAt = await until(async () => (await meta(ctx)).next > before.next, ctx.recoveryTimeoutMs);
  const recovered = reconnectedAt === null || movedAt === null ? null : Math.max(reconnectedAt, movedAt);
  return result(ctx, 'client-kill', at, `CLIENT KILL: ${normal} normal, ${pubsub} pubsub connections`, recovered, {
    killed: normal + pubsub,
    serviceConnections: connections,
    reconnectedMs: reconnectedAt === null ? null : reconnectedAt - at,
    firstEmitMs: movedAt === null ? null : movedAt - at,
  });
}

async function redisRestart(ctx: FaultContext): Promise<FaultResult> {
  const server = ctx.localRedis;
  if (!server) return result(ctx, 'redis-restart', Date.now(), 'skipped: RedisClient is not the throwaway server', null, { skipped: true });
  const before = await meta(ctx);
  const at = Date.now();
  await server.restart();
  const upAt = Date.now();
  const movedAt = await until(async () => (await meta(ctx)).next > before.next, ctx.recoveryTimeoutMs);
  return result(ctx, 'redis-restart', at, 'redis-server stopped (SIGTERM) and started again with its append-only file', movedAt, {
    downMs: upAt - at,
    nextBefore: before.next,
  });
}

export async function injectFault(ctx: FaultContext, plan: PlannedFault): Promise<FaultResult> {
  switch (plan.kind) {
    case 'processor-kill':
      return processorKill(ctx, plan);
    case 'leader-kill':
      return leaderKill(ctx);
    case 'leader-pause':
      return leaderPause(ctx);
    case 'client-kill':
      return clientKill(ctx);
    case 'redis-restart':
      return redisRestart(ctx);
  }
}
