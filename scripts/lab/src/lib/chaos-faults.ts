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
import { waitFor, type RedisServer } from '@inorder/testkit';
import type { ServiceGroup, ServiceHandle } from './stack.js';

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

const POLL_MS = 5;

/** When `check` first held (epoch ms), polled every POLL_MS; null when it did not within `timeoutMs`. Errors count as false. */
function firstHeld(check: () => Promise<boolean>, timeoutMs: number): Promise<number | null> {
  return waitFor(check, { timeoutMs, intervalMs: POLL_MS }).then(
    () => Date.now(),
    () => null,
  );
}

async function meta(ctx: FaultContext): Promise<{ next: number; fence: string }> {
  const [next, fence] = await ctx.client.hmget(ctx.keys.meta, 'next', 'fence');
  return { next: Number(next ?? 0), fence: fence ?? '' };
}

function leader(ctx: FaultContext): Promise<ServiceHandle | undefined> {
  return ctx.services.waitForLeader(5000);
}

function since(ctx: FaultContext, at: number): number {
  return Math.round((at - ctx.startedAt) / 10) / 100;
}

function result(
  ctx: FaultContext,
  kind: FaultKind,
  at: number,
  label: string,
  recoveredAt: number | null,
  details: Record<string, unknown>,
): FaultResult {
  return { kind, at: since(ctx, at), label, recoveryMs: recoveredAt === null ? null : recoveredAt - at, details };
}

/**
 * The seqs a killed processor still held: those of its claims (tokens are "<owner>:<n>") whose
 * state still says claimed by it (a claim lists its settled seqs too until all are settled).
 */
async function heldBy(ctx: FaultContext, owner: string | undefined): Promise<number[]> {
  if (owner === undefined) return [];
  const claims = await ctx.client.hgetall(ctx.keys.claims);
  const listed = Object.entries(claims)
    .filter(([token]) => token.startsWith(`${owner}:`))
    .flatMap(([, value]) =>
      value
        .slice(value.indexOf('|') + 1)
        .split(',')
        .map(Number),
    );
  if (listed.length === 0) return [];
  const states = await ctx.client.hmget(ctx.keys.state, ...listed.map(String));
  return listed.filter((_, i) => states[i]?.startsWith(`C|${owner}:`));
}

interface ClaimRecovery {
  /** epoch ms of each milestone, null when it did not happen within the timeout */
  reapedAt: number | null;
  reclaimedAt: number | null;
  emittedPastAt: number | null;
  allEmittedAt: number | null;
}

/**
 * Follows a dead processor's claims through the partition's state, every POLL_MS: its lowest seq
 * (where the order waits) stops being claimed by it (reaped: `Q|...`, back in the input), is claimed
 * by another (`C|<other token>|...`, or already settled: `D`, `T`, `R`, or gone once emitted), then
 * `next` passes it, then every seq it held.
 */
async function followClaims(ctx: FaultContext, owner: string, lowest: number, highest: number): Promise<ClaimRecovery> {
  const r: ClaimRecovery = { reapedAt: null, reclaimedAt: null, emittedPastAt: null, allEmittedAt: null };
  const deadline = Date.now() + ctx.recoveryTimeoutMs;
  while (r.allEmittedAt === null && Date.now() < deadline) {
    const [state, next] = await Promise.all([ctx.client.hget(ctx.keys.state, String(lowest)), meta(ctx).then((m) => m.next)]).catch(
      () => [undefined, 0] as const,
    );
    const now = Date.now();
    if (state !== undefined) {
      const ours = state !== null && state.startsWith(`C|${owner}:`);
      if (!ours) r.reapedAt ??= now;
      if (!ours && (state === null || !state.startsWith('Q|'))) r.reclaimedAt ??= now;
    }
    if (next > lowest) r.emittedPastAt ??= now;
    if (next > highest) r.allEmittedAt = now;
    if (r.allEmittedAt === null) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return r;
}

/** The processors (by name) whose `claims-reaped` events, logged since `logsBefore`, returned seqs, and how many in all. */
function reapEvents(ctx: FaultContext, logsBefore: Map<ServiceHandle, number>): { reapedBy: string[]; reapedSeqs: number } {
  const by = new Set<string>();
  let seqs = 0;
  for (const p of ctx.services.processors) {
    for (const line of p.logs.slice(logsBefore.get(p) ?? 0)) {
      if (!line.includes('"claims-reaped"')) continue;
      let event: { event?: string; seqs?: number };
      try {
        event = JSON.parse(line) as typeof event;
      } catch {
        continue;
      }
      if (event.event !== 'claims-reaped') continue;
      by.add(p.name);
      seqs += event.seqs ?? 0;
    }
  }
  return { reapedBy: [...by], reapedSeqs: seqs };
}

/** The running processors that hold claims now (all running ones when none does). */
async function processorsHoldingClaims(ctx: FaultContext): Promise<ServiceHandle[]> {
  const running = ctx.services.processors.filter((p) => p.running);
  const owners = new Set(
    Object.keys(await ctx.client.hgetall(ctx.keys.claims).catch(() => ({}))).map((t) => t.slice(0, t.lastIndexOf(':'))),
  );
  const holding = running.filter((p) => p.instance !== undefined && owners.has(p.instance));
  return holding.length > 0 ? holding : running;
}

async function processorKill(ctx: FaultContext, plan: PlannedFault): Promise<FaultResult> {
  // A processor that holds claims, so that its crash is one to recover from; the seed picks which.
  const candidates = await processorsHoldingClaims(ctx);
  const target = candidates[Math.floor(plan.pick * candidates.length)];
  if (!target) return result(ctx, 'processor-kill', Date.now(), 'no processor running', null, {});
  const owner = target.instance;
  const logsBefore = new Map(ctx.services.processors.map((p) => [p, p.logs.length]));
  const at = Date.now();
  target.kill('SIGKILL');
  await target.exited;
  // Its claims are frozen in Redis now.
  const held = await heldBy(ctx, owner);
  const restarted = target.restart().then(() => Date.now());
  const since = (t: number | null): number | null => (t === null ? null : t - at);
  let recovered: number | null;
  let claims: ClaimRecovery | undefined;
  if (held.length > 0 && owner !== undefined) {
    claims = await followClaims(ctx, owner, Math.min(...held), Math.max(...held));
    recovered = claims.allEmittedAt;
  } else {
    recovered = await restarted.catch(() => null);
  }
  const readyAt = await restarted.catch(() => null);
  return result(ctx, 'processor-kill', at, `SIGKILL ${target.name} (pid ${target.pid}); restarted`, recovered, {
    process: target.name,
    seqsHeld: held.length,
    stalledSeq: held.length > 0 ? Math.min(...held) : null,
    reapedMs: since(claims?.reapedAt ?? null),
    reclaimedMs: since(claims?.reclaimedAt ?? null),
    emittedPastStalledMs: since(claims?.emittedPastAt ?? null),
    ...reapEvents(ctx, logsBefore),
    restartMs: since(readyAt),
    claimLeaseMs: ctx.claimLeaseMs,
  });
}

/** Waits for the first emit under a new fence after `before`; returns when it happened and when the fence changed. */
async function firstEmitByNewLeader(
  ctx: FaultContext,
  before: { next: number; fence: string },
): Promise<{ emitAt: number | null; fenceAt: number | null }> {
  let fenceAt: number | null = null;
  const emitAt = await firstHeld(async () => {
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
  const reconnectedAt = await firstHeld(async () => (await serviceConnections(ctx)) >= connections, ctx.recoveryTimeoutMs);
  const movedAt = await firstHeld(async () => (await meta(ctx)).next > before.next, ctx.recoveryTimeoutMs);
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
  const movedAt = await firstHeld(async () => (await meta(ctx)).next > before.next, ctx.recoveryTimeoutMs);
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
