import type { Probe } from '../partition/partition.js';

/** Why a partition's order is not moving, as its log line, its status and its metrics say it. */
export interface Stall {
  /** the seq the order waits for */
  seq: number;
  /** the state of that seq: unknown, claimed, retry, queued, returned, settled */
  kind: Probe['kind'];
  /** one sentence for an operator */
  reason: string;
  /** ms since the order last moved */
  stalledMs: number;
  /** results waiting behind it in the leader's buffer */
  waiting: number;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** The sentence that says why the order waits for `next`, from what probe.lua found. */
export function stallReason(next: number, probe: Probe, waiting: number, gapTimeoutMs: number, stalledMs: number): Stall {
  const base = { seq: next, kind: probe.kind, stalledMs, waiting };
  switch (probe.kind) {
    case 'claimed': {
      const owner = probe.owner ?? 'an unknown processor';
      if (probe.ms === undefined)
        return {
          ...base,
          reason: `waiting for seq ${next}: claimed by ${owner}, which has no liveness entry; the next claim or heartbeat of any processor returns it`,
        };
      if (probe.ms < 0)
        return {
          ...base,
          reason: `waiting for seq ${next}: claimed by ${owner}, silent for ${seconds(-probe.ms)} past its lease; waiting for a live processor to reap it`,
        };
      return { ...base, reason: `waiting for seq ${next}: claimed by ${owner} (alive), its handler still running` };
    }
    case 'retry':
      return {
        ...base,
        reason: `waiting for seq ${next}: failed and waiting for its retry${probe.ms !== undefined ? `, due in ${seconds(Math.max(0, probe.ms))}` : ''}`,
      };
    case 'queued':
    case 'returned':
      return {
        ...base,
        reason: `waiting for seq ${next}: back in the input (${probe.inputLength} entries there), waiting for a processor to claim it; are processors running?`,
      };
    case 'settled':
      return { ...base, reason: `waiting for seq ${next}: settled, about to be emitted` };
    case 'unknown': {
      const where =
        probe.parkedMin !== undefined && probe.inputLength === 0
          ? `; the input is empty and the lowest parked seq is ${probe.parkedMin}`
          : probe.inputLength > 0
            ? `; the input holds ${probe.inputLength} unclaimed entries`
            : '';
      const then =
        gapTimeoutMs > 0
          ? `it is skipped once GAP_TIMEOUT_MS (${gapTimeoutMs} ms) passes`
          : 'GAP_TIMEOUT_MS is 0, so the order waits for it without end';
      return { ...base, reason: `waiting for seq ${next}: no processor knows it (never produced, or lost)${where}; ${then}` };
    }
  }
}
