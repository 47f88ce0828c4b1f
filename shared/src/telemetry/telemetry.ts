import { EventEmitter } from 'node:events';
import type { Logger } from '../logger.js';
import { Metrics } from './metrics.js';

/** What a processor or sequencer tells about itself: each one is a log line's `event` field too. */
export type InorderEventName =
  | 'started'
  | 'stopped'
  | 'claims-reaped'
  | 'claim-lost'
  | 'stale-settle'
  | 'duplicate-dropped'
  | 'copy-held'
  | 'retry-scheduled'
  | 'dead-lettered'
  | 'leader-acquired'
  | 'leader-lost'
  | 'leader-fenced'
  | 'leader-handover'
  | 'gap-skipped'
  | 'stalled'
  | 'rollback-detected'
  | 'summary';

/** An event: its name, the partition it concerns (when it does) and its own fields. */
export interface InorderEvent {
  event: InorderEventName;
  pipeline?: string;
  partition?: number;
  [field: string]: unknown;
}

/** Where an event happens: the logger that carries its context, and its partition if any. */
export interface Scope {
  logger: Logger;
  pipeline?: string;
  partition?: number;
}

type Level = 'error' | 'warn' | 'info' | 'debug';

/**
 * One place where a service's events go: a log line with a stable `event` field, an event on
 * `events` (tools and tests wait on these, not on log sentences), and its metrics.
 */
export class Telemetry {
  readonly events = new EventEmitter<{ [K in InorderEventName]: [InorderEvent] } & { event: [InorderEvent] }>();

  constructor(readonly metrics: Metrics = new Metrics(undefined, { defaults: false })) {
    // Every event is also emitted as 'event', for listeners of all of them.
    this.events.setMaxListeners(0);
  }

  /** Logs and emits one event. */
  note(scope: Scope, level: Level, message: string, event: InorderEventName, fields: Record<string, unknown> = {}): void {
    scope.logger.log(level, message, { event, ...fields });
    if (this.events.listenerCount(event) === 0 && this.events.listenerCount('event') === 0) return;
    const payload: InorderEvent = { ...fields, event };
    if (scope.pipeline !== undefined) payload.pipeline = scope.pipeline;
    if (scope.partition !== undefined) payload.partition = scope.partition;
    this.events.emit(event, payload);
    this.events.emit('event', payload);
  }

  /** Resolves with the first event of that name `matching`, or rejects after `timeoutMs`. */
  next(event: InorderEventName, matching: (e: InorderEvent) => boolean = () => true, timeoutMs = 30_000): Promise<InorderEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.events.off(event, listener);
        reject(new Error(`no ${event} event within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (e: InorderEvent): void => {
        if (!matching(e)) return;
        clearTimeout(timer);
        this.events.off(event, listener);
        resolve(e);
      };
      this.events.on(event, listener);
    });
  }
}
