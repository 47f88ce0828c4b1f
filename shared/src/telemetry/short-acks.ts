import type { Logger } from '../logger.js';
import type { ShortAck } from '../replica-acks.js';

/** How often one partition's write step logs a short WAIT (every one is counted). */
const LOG_EVERY_MS = 5000;

/**
 * Reports the write steps that REPLICA_ACKS asked replicas to confirm and that came back short:
 * counts every one (`count`: a Prometheus counter), and logs a warning with event
 * `replica-acks-short`, at most once per partition and step every 5 s with the number not logged
 * since, so that a replica down for a while does not flood the log.
 */
export class ShortAckLog {
  private readonly lastLogged = new Map<string, { at: number; unlogged: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly count: (short: ShortAck) => void,
    private readonly now: () => number = Date.now,
  ) {}

  readonly report = (short: ShortAck): void => {
    this.count(short);
    const key = `${short.pipeline}:${short.partition}:${short.step}`;
    const seen = this.lastLogged.get(key);
    const now = this.now();
    if (seen && now - seen.at < LOG_EVERY_MS) {
      seen.unlogged++;
      return;
    }
    this.lastLogged.set(key, { at: now, unlogged: 0 });
    this.logger.warn(
      'a write was not confirmed by the replicas REPLICA_ACKS asks for: it stands on the primary only, which loses it if a replica is promoted before it gets there',
      {
        event: 'replica-acks-short',
        ...short,
        notLoggedBefore: seen?.unlogged ?? 0,
      },
    );
  };
}
