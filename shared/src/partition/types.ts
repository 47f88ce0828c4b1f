/** What the partition's steps take and answer (shared/src/partition/replies.ts decodes them). */
import type { Ordering } from '../commands.js';

export interface Claimed {
  seq: number;
  attempts: number;
  raw: string;
}

/** How claim.lua dealt with an entry it did not claim (`held`: a copy waiting for its seq's claim to be judged). */
export type DropKind = 'duplicate' | 'late' | 'malformed' | 'conflict' | 'held';

export interface Dropped {
  kind: DropKind;
  seq: number | undefined;
  /** why, in words: which seq, which state, which rule */
  reason: string;
}

export interface ClaimRequest {
  count: number;
  token: string;
  owner: string;
  leaseMs: number;
  window: number;
  /** the highest seq the caller ever claimed in this partition (raises meta "accepted") */
  floor?: number;
}

export interface ClaimResult {
  claimed: Claimed[];
  dropped: Dropped[];
  /** the token had been used: a resent call whose first reply was lost */
  replayed: boolean;
  /** Redis's clock when it ran */
  now: number;
  /** entries held back by the window in this call */
  parked: number;
  /** seqs of dead owners returned to the input first */
  reaped: number;
  /** ms until the earliest retry still waiting is due (undefined: none waits) */
  dueInMs: number | undefined;
}

export interface CompleteItem {
  seq: number;
  token: string;
  body: string;
  /** the envelope's createdAt and processedAt (epoch ms): the stream names them for the sequencer */
  createdAt: number;
  processedAt: number;
}

export type FailItem =
  | { seq: number; token: string; action: 'retry'; delayMs: number; body: string }
  | {
      seq: number;
      token: string;
      action: 'dead' | 'malformed';
      body: string;
      /** why, for counting (not written: the body says it) */ reason?: string;
    };

export interface HeartbeatResult {
  /** false: this owner was presumed dead and its claims here were reaped */
  alive: boolean;
  /** tokens it holds that Redis has no claim for */
  gone: string[];
  /** seqs given back: of dead owners, and of this owner's claims it no longer holds */
  returned: number;
  now: number;
}

/** One stretch of an emit run: `count` seqs the leader read at `sequencingAt`. */
export interface RunStretch {
  count: number;
  sequencingAt: number;
}

export interface EmitRequest {
  fence: string;
  next: number;
  now: number;
  /** skip a gap first: seqs from next up to (not including) skipTo */
  skipTo?: number;
  /** skipped seqs up to this one count as lost, the others as gaps */
  lostUpTo?: number;
  /** stream entries whose every seq is emitted once this call lands */
  done?: string[];
  run: RunStretch[];
}

export type EmitResult =
  | { kind: 'emitted'; next: number; results: number; tombstones: number }
  | { kind: 'fenced' }
  | { kind: 'stale-next'; next: number | undefined }
  | { kind: 'gap-known'; next: number; seq: number }
  | { kind: 'not-settled'; next: number; seq: number };

export type NextKind = 'unknown' | 'claimed' | 'retry' | 'queued' | 'settled' | 'returned';

/** What holds the order back (probe.lua). */
export interface Probe {
  kind: NextKind;
  /** claimed: the owner of the claim */
  owner: string | undefined;
  /** claimed: ms until its owner's liveness lapses (negative: lapsed); retry: ms until due */
  ms: number | undefined;
  inputLength: number;
  parkedCount: number;
  parkedMin: number | undefined;
  delayedCount: number;
  accepted: number;
  stateSize: number;
  now: number;
  /** the partition's stored next seq (undefined before any) */
  next: number | undefined;
}

/** A results stream entry: the seqs one settle call settled (with the timestamps of completed ones). */
export interface SettledEntry {
  id: string;
  seqs: number[];
  /** createdAt and processedAt per seq, when the entry names them (completions; tombstones do not) */
  createdAt: number[] | undefined;
  processedAt: number[] | undefined;
}

export interface PartitionOptions {
  prefix?: string | undefined;
  ordering?: Ordering | undefined;
  seqStart?: number | undefined;
}
