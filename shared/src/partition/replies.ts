/**
 * The decoders of what a partition's Redis calls answer: the Lua steps' flat replies and the
 * results stream's entries, read into the typed results of types.ts. Partition calls them, so a
 * reply's shape is read in this one place; only a broken invariant (a kind or code a script
 * never answers) throws.
 */
import type { ClaimReply, EmitReply, ProbeReply } from '../commands.js';
import { InorderError } from '../errors.js';
import type { ClaimResult, Claimed, DropKind, Dropped, EmitResult, NextKind, Probe, SettledEntry } from './types.js';

const DROP_KINDS: readonly string[] = ['duplicate', 'late', 'malformed', 'conflict', 'held'];
const NEXT_KINDS: readonly string[] = ['unknown', 'claimed', 'retry', 'queued', 'settled', 'returned'];

/** claim.lua's reply: the claimed entries and the dropped ones come as flat triples. */
export function claimResult(reply: ClaimReply): ClaimResult {
  const [flat, droppedFlat, replayed, now, parked, reaped, dueIn] = reply;
  const claimed: Claimed[] = [];
  for (let i = 0; i + 2 < flat.length; i += 3) {
    claimed.push({ seq: Number(flat[i]), attempts: Number(flat[i + 1]), raw: flat[i + 2]! });
  }
  const dropped: Dropped[] = [];
  for (let i = 0; i + 2 < droppedFlat.length; i += 3) {
    const kind = droppedFlat[i]!;
    if (!DROP_KINDS.includes(kind)) throw new InorderError(`claim.lua dropped an entry as unknown kind ${kind}`);
    const seq = droppedFlat[i + 1];
    dropped.push({ kind: kind as DropKind, seq: seq ? Number(seq) : undefined, reason: droppedFlat[i + 2]! });
  }
  return { claimed, dropped, replayed: replayed === 1, now, parked, reaped, dueInMs: dueIn < 0 ? undefined : dueIn };
}

/** emit.lua's reply: its code says whether the run was emitted, and if not, why. */
export function emitResult(reply: EmitReply): EmitResult {
  const [code, stored, results, tombstones, detail] = reply;
  const next = Number(stored);
  switch (code) {
    case 1:
      return { kind: 'emitted', next, results, tombstones };
    case -1:
      return { kind: 'fenced' };
    case -2:
      return { kind: 'stale-next', next: stored === '' ? undefined : next };
    case -3:
      return { kind: 'gap-known', next, seq: Number(detail) };
    case -4:
      return { kind: 'not-settled', next, seq: Number(detail) };
    default:
      throw new InorderError(`emit.lua returned unknown code ${code}`);
  }
}

/** probe.lua's reply: an empty string is a value Redis does not hold. */
export function probeResult(reply: ProbeReply): Probe {
  const [kind, owner, ms, inputLength, parkedCount, parkedMin, delayedCount, accepted, stateSize, now, storedNext] = reply;
  if (!NEXT_KINDS.includes(kind)) throw new InorderError(`probe.lua answered unknown kind ${kind}`);
  return {
    kind: kind as NextKind,
    owner: owner === '' ? undefined : owner,
    ms: ms === '' ? undefined : Number(ms),
    inputLength,
    parkedCount,
    parkedMin: parkedMin === '' ? undefined : Number(parkedMin),
    delayedCount,
    accepted: Number(accepted),
    stateSize,
    now,
    next: storedNext === '' ? undefined : Number(storedNext),
  };
}

/** A results stream entry: `s` the seqs ("seq,seq,..."), `c` and `p` their createdAt and processedAt. */
export function settledEntry(id: string, fields: string[]): SettledEntry {
  const field = (name: string): string | undefined => {
    for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
    return undefined;
  };
  const seqs: number[] = [];
  for (const part of (field('s') ?? '').split(',')) {
    const seq = Number(part);
    if (part !== '' && Number.isSafeInteger(seq) && seq >= 1) seqs.push(seq);
  }
  const times = (name: string): number[] | undefined => {
    const text = field(name);
    if (text === undefined) return undefined;
    const values = text.split(',').map(Number);
    return values.length === seqs.length ? values : undefined;
  };
  return { id, seqs, createdAt: times('c'), processedAt: times('p') };
}
