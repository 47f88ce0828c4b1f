/**
 * The faults chaos injects, each with its recovery measured from Redis, polled every 5 ms on the
 * chaos tool's own connection:
 *
 *   processor-kill  SIGKILL a processor that holds claims (the seed picks which; any processor when
 *                   none holds any), restart it. From the partition's state, polled: when its
 *                   claims were first reaped (its lowest seq no longer claimed by it), first
 *                   re-claimed (that seq claimed by another processor, or settled since), and the
 *                   first emit past that seq, where the order waited for it; from the services'
 *                   `claims-reaped` events, who reaped how many seqs. Recovered when `next` has
 *                   passed every seq the dead processor held: its claims were reaped, redone and
 *                   emitted in order. Holding none: when the restart is ready.
 *   processor-pause SIGSTOP a processor that holds claims for 2.5 claim leases, then SIGCONT.
 *                   Recovered as processor-kill; also records whether, resumed, it gave its
 *                   claims up (`claim-lost`) rather than writing their results.
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
import type { PlannedFault } from './chaos-plan.js';
import type { ServiceHandle } from './stack.js';
import { faultResult, firstHeld, readMeta, type FaultContext, type FaultResult } from './chaos-fault-context.js';
import { processorKill, processorPause } from './chaos-processor-kill.js';

export type { FaultContext, FaultResult } from './chaos-fault-context.js';

/** The sequencer that leads the partition now (waiting up to 5 s for one). */
function leader(ctx: FaultContext): Promise<ServiceHandle | undefined> {
  return ctx.services.waitForLeader(5000);
}

/** Waits for the first emit under a new fence after `before`; returns when it happened and when the fence changed. */
async function firstEmitByNewLeader(
  ctx: FaultContext,
  before: { next: number; fence: string },
): Promise<{ emitAt: number | null; fenceAt: number | null }> {
  let fenceAt: number | null = null;
  const emitAt = await firstHeld(async () => {
    const now = await readMeta(ctx);
    if (now.fence !== before.fence && fenceAt === null) fenceAt = Date.now();
    return now.fence !== before.fence && now.next > before.next;
  }, ctx.recoveryTimeoutMs);
  return { emitAt, fenceAt };
}

async function leaderKill(ctx: FaultContext): Promise<FaultResult> {
  const target = await leader(ctx);
  if (!target) return faultResult(ctx, 'leader-kill', Date.now(), 'no leader found', null, {});
  const fence = (await readMeta(ctx)).fence;
  const at = Date.now();
  target.kill('SIGKILL');
  await target.exited;
  const before = { fence, next: (await readMeta(ctx)).next };
  const restarted = target.restart().catch(() => undefined);
  const { emitAt, fenceAt } = await firstEmitByNewLeader(ctx, before);
  await restarted;
  const now = await readMeta(ctx).catch(() => undefined);
  return faultResult(ctx, 'leader-kill', at, `SIGKILL leader ${target.name}; restarted as a standby`, emitAt, {
    process: target.name,
    fenceBefore: fence,
    fenceAfter: now?.fence,
    fenceChangedMs: fenceAt === null ? null : fenceAt - at,
    leaderLeaseMs: ctx.leaderLeaseMs,
  });
}

async function leaderPause(ctx: FaultContext): Promise<FaultResult> {
  const target = await leader(ctx);
  if (!target) return faultResult(ctx, 'leader-pause', Date.now(), 'no leader found', null, {});
  const pauseMs = Math.round(ctx.leaderLeaseMs * 2.5);
  const before = await readMeta(ctx);
  const logsBefore = target.logs.length;
  const at = Date.now();
  target.kill('SIGSTOP');
  const resume = new Promise<void>((resolve) =>
    setTimeout(() => {
      target.kill('SIGCONT');
      resolve();
    }, pauseMs),
  );
  const { emitAt, fenceAt } = await firstEmitByNewLeader(ctx, before);
  await resume;
  // The paused leader must notice, once it runs again, that its lease is gone.
  const steppedDown = await firstHeld(
    async () => target.logs.slice(logsBefore).some((l) => /lease lost|leadership ended|fenced/i.test(l)),
    5000,
  );
  return faultResult(ctx, 'leader-pause', at, `SIGSTOP leader ${target.name} for ${pauseMs} ms, then SIGCONT`, emitAt, {
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
  const before = await readMeta(ctx);
  const at = Date.now();
  const normal = (await ctx.client.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes')) as number;
  const pubsub = (await ctx.client.call('CLIENT', 'KILL', 'TYPE', 'pubsub', 'SKIPME', 'yes')) as number;
  const reconnectedAt = await firstHeld(async () => (await serviceConnections(ctx)) >= connections, ctx.recoveryTimeoutMs);
  const movedAt = await firstHeld(async () => (await readMeta(ctx)).next > before.next, ctx.recoveryTimeoutMs);
  const recovered = reconnectedAt === null || movedAt === null ? null : Math.max(reconnectedAt, movedAt);
  return faultResult(ctx, 'client-kill', at, `CLIENT KILL: ${normal} normal, ${pubsub} pubsub connections`, recovered, {
    killed: normal + pubsub,
    serviceConnections: connections,
    reconnectedMs: reconnectedAt === null ? null : reconnectedAt - at,
    firstEmitMs: movedAt === null ? null : movedAt - at,
  });
}

async function redisRestart(ctx: FaultContext): Promise<FaultResult> {
  const server = ctx.localRedis;
  if (!server)
    return faultResult(ctx, 'redis-restart', Date.now(), 'skipped: RedisClient is not the throwaway server', null, { skipped: true });
  const before = await readMeta(ctx);
  const at = Date.now();
  await server.restart();
  const upAt = Date.now();
  const movedAt = await firstHeld(async () => (await readMeta(ctx)).next > before.next, ctx.recoveryTimeoutMs);
  return faultResult(ctx, 'redis-restart', at, 'redis-server stopped (SIGTERM) and started again with its append-only file', movedAt, {
    downMs: upAt - at,
    nextBefore: before.next,
  });
}

export async function injectFault(ctx: FaultContext, plan: PlannedFault): Promise<FaultResult> {
  switch (plan.kind) {
    case 'processor-kill':
      return processorKill(ctx, plan);
    case 'processor-pause':
      return processorPause(ctx, plan);
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
