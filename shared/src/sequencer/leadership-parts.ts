import type { SequencerSettings } from '../config/services.js';
import type { Partition } from '../partition/partition.js';
import type { Clock } from '../time.js';
import type { LeaderTelemetry } from './leader-telemetry.js';
import type { Lease } from './lease.js';

/**
 * A sequencer's counters over all its leaderships: leaderships begun, results and tombstones
 * emitted, seqs skipped and (of those) lost, emits refused by a newer fence, rollbacks detected.
 */
export interface SequencerStats {
  leaderships: number;
  emitted: number;
  tombstones: number;
  skipped: number;
  lost: number;
  fenced: number;
  rollbacks: number;
}

/** What a sequencer process remembers of a partition across its leaderships. */
export interface PartitionMemory {
  /** the highest seq this process ever saw settled or emitted in the partition */
  highestSeen: number;
  /** the next seq after the last run this process emitted */
  emittedUpTo: number;
}

/**
 * What a sequencer hands one partition's leadership: the partition and the lease it leads
 * under, and the state that outlives the leadership (the partition's memory, the stats).
 */
export interface LeadershipParts {
  partition: Partition;
  lease: Lease;
  settings: SequencerSettings;
  tell: LeaderTelemetry;
  owner: string;
  clock: Clock;
  memory: PartitionMemory;
  stats: SequencerStats;
  /** the process is stopping */
  stopping: AbortSignal;
  /** called with the partition's first emit of this leadership (for failover figures) */
  onFirstEmit?: (ms: number) => void;
}
