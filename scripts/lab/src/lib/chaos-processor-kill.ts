/**
 * The processor-kill and processor-pause faults: which processor to kill or pause (one holding
 * claims), the seqs it still held, and their recovery followed through the partition's state
 * (reaped, re-claimed, emitted) and the services' `claims-reaped` events.
 */
import type { PlannedFault } from './chaos-plan.js';
import type { ServiceHandle } from './stack.js';
import { POLL_MS, faultResult, firstHeld, readMeta, type FaultContext, type FaultResult } from './chaos-fault-context.js';

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
    const [state, next] = await Promise.all([ctx.client.hget(ctx.keys.state, String(lowest)), readMeta(ctx).then((m) => m.next)]).catch(
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

/** What a fault report says of the claims a processor held: how many, where the order waited, and when each milestone came after `at`. */
function claimDetails(held: number[], claims: ClaimRecovery | undefined, at: number): Record<string, number | null> {
  const since = (t: number | null | undefined): number | null => (t === null || t === undefined ? null : t - at);
  return {
    seqsHeld: held.length,
    stalledSeq: held.length > 0 ? Math.min(...held) : null,
    reapedMs: since(claims?.reapedAt),
    reclaimedMs: since(claims?.reclaimedAt),
    emittedPastStalledMs: since(claims?.emittedPastAt),
  };
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

/**
 * processor-kill: SIGKILL a processor that holds claims, restart it, and follow its claims until
 * every seq it held was emitted (see chaos-faults.ts).
 */
export async function processorKill(ctx: FaultContext, plan: PlannedFault): Promise<FaultResult> {
  // A processor that holds claims, so that its crash is one to recover from; the seed picks which.
  const candidates = await processorsHoldingClaims(ctx);
  const target = candidates[Math.floor(plan.pick * candidates.length)];
  if (!target) return faultResult(ctx, 'processor-kill', Date.now(), 'no processor running', null, {});
  const owner = target.instance;
  const logsBefore = new Map(ctx.services.processors.map((p) => [p, p.logs.length]));
  const at = Date.now();
  target.kill('SIGKILL');
  await target.exited;
  // Its claims are frozen in Redis now.
  const held = await heldBy(ctx, owner);
  const restarted = target.restart().then(() => Date.now());
  let recovered: number | null;
  let claims: ClaimRecovery | undefined;
  if (held.length > 0 && owner !== undefined) {
    claims = await followClaims(ctx, owner, Math.min(...held), Math.max(...held));
    recovered = claims.allEmittedAt;
  } else {
    recovered = await restarted.catch(() => null);
  }
  const readyAt = await restarted.catch(() => null);
  return faultResult(ctx, 'processor-kill', at, `SIGKILL ${target.name} (pid ${target.pid}); restarted`, recovered, {
    process: target.name,
    ...claimDetails(held, claims, at),
    ...reapEvents(ctx, logsBefore),
    restartMs: readyAt === null ? null : readyAt - at,
    claimLeaseMs: ctx.claimLeaseMs,
  });
}

/**
 * processor-pause: SIGSTOP a processor that holds claims for 2.5 claim leases, then SIGCONT. The
 * others reap its claims meanwhile; resumed, it must give up what it held (`claim-lost`), start
 * nothing it had claimed ahead, and write no result of it. Recovered when every seq it held was
 * emitted; the order, loss and duplicate checks at the end of the run say whether it wrote anything.
 */
export async function processorPause(ctx: FaultContext, plan: PlannedFault): Promise<FaultResult> {
  const candidates = await processorsHoldingClaims(ctx);
  const target = candidates[Math.floor(plan.pick * candidates.length)];
  if (!target) return faultResult(ctx, 'processor-pause', Date.now(), 'no processor running', null, {});
  const owner = target.instance;
  const pauseMs = Math.round(ctx.claimLeaseMs * 2.5);
  const logsBefore = new Map(ctx.services.processors.map((p) => [p, p.logs.length]));
  const at = Date.now();
  target.kill('SIGSTOP');
  const held = await heldBy(ctx, owner);
  const resumed = new Promise<void>((resolve) =>
    setTimeout(() => {
      target.kill('SIGCONT');
      resolve();
    }, pauseMs),
  );
  const claims = held.length > 0 && owner !== undefined ? await followClaims(ctx, owner, Math.min(...held), Math.max(...held)) : undefined;
  await resumed;
  // Holding nothing, it had nothing to give up: recovered when it runs again.
  const recovered = claims ? claims.allEmittedAt : Date.now();
  const gaveUpAt = claims
    ? await firstHeld(async () => target.logs.slice(logsBefore.get(target)).some((l) => l.includes('"claim-lost"')), 5000)
    : null;
  return faultResult(ctx, 'processor-pause', at, `SIGSTOP ${target.name} for ${pauseMs} ms, then SIGCONT`, recovered, {
    process: target.name,
    pauseMs,
    ...claimDetails(held, claims, at),
    ...reapEvents(ctx, logsBefore),
    resumedGaveUpClaims: held.length === 0 ? null : gaveUpAt !== null,
    claimLeaseMs: ctx.claimLeaseMs,
  });
}
