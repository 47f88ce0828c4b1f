import type { ReplicaAcks, ShortAck } from '../replica-acks.js';
import { setting, type Rule } from './settings.js';
import { durationMs, int } from './values.js';

/**
 * REPLICA_ACKS and its timeout, written once for the processor, the sequencer and the ingest:
 * each write step waits (WAIT) until that many replicas hold it, or the timeout has passed.
 */
export const replicaAcksSettings = {
  replicaAcks: setting('REPLICA_ACKS', int(0, 0, 16)),
  replicaAcksTimeoutMs: setting('REPLICA_ACKS_TIMEOUT_MS', durationMs(1, 500)),
};

interface ReplicaAcksValues {
  replicaAcks: number;
  replicaAcksTimeoutMs: number;
}

/**
 * A WAIT blocks the connection it runs on, and the process's other commands (heartbeats, lease
 * renewals, the requests of other clients) queue behind it: with REPLICA_ACKS on, its timeout may
 * be at most half of `bound` (a lease, or the ingest's Redis timeout).
 */
export function replicaAcksRule<T extends ReplicaAcksValues>(bound: keyof T & string, variable: string): Rule<T> {
  return {
    reads: ['replicaAcks', 'replicaAcksTimeoutMs', bound],
    check: (c) => {
      const limit = Math.floor(Number(c[bound]) / 2);
      return c.replicaAcks > 0 && c.replicaAcksTimeoutMs > limit
        ? [
            [
              'replicaAcksTimeoutMs',
              `must be at most half of ${variable} (${limit}) while REPLICA_ACKS is on: a WAIT holds up the connection's other commands`,
            ],
          ]
        : [];
    },
  };
}

/** The connect() option of these settings (undefined when REPLICA_ACKS is 0). */
export function replicaAcksOption(config: ReplicaAcksValues, onShort?: (short: ShortAck) => void): ReplicaAcks | undefined {
  return config.replicaAcks > 0 ? { replicas: config.replicaAcks, timeoutMs: config.replicaAcksTimeoutMs, onShort } : undefined;
}
