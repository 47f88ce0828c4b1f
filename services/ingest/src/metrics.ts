import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { replicaAcksShortCounter, type ShortAck } from '@inorder/shared';

/**
 * The ingest's Prometheus metrics, served at GET /metrics: requests by route pattern (never the
 * raw URL, so the label set stays bounded), their durations, and the messages each pipeline
 * partition took, by outcome.
 */
export class IngestMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly duration: Histogram<'method' | 'route'>;
  readonly submitted: Counter<'pipeline' | 'partition' | 'outcome'>;
  readonly replicaAcksShort: Counter<'pipeline' | 'partition' | 'step'>;

  constructor(options: { defaults?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaults !== false) collectDefaultMetrics({ register: this.registry, prefix: 'inorder_ingest_' });
    this.requests = new Counter({
      name: 'inorder_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'inorder_http_request_duration_seconds',
      help: 'Time from request to response, by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.submitted = new Counter({
      name: 'inorder_messages_submitted_total',
      help: 'Messages taken by a submit (outcome enqueued) or answered with an earlier seq for a known id (outcome duplicate)',
      labelNames: ['pipeline', 'partition', 'outcome'],
      registers,
    });
    this.replicaAcksShort = replicaAcksShortCounter(this.registry);
  }

  /** Counts a submit whose WAIT came back short (REPLICA_ACKS). */
  noteShortAck(short: ShortAck): void {
    this.replicaAcksShort.inc({ pipeline: short.pipeline, partition: String(short.partition), step: short.step });
  }

  /** Counts the messages of one submit: `duplicates[i]` is true when message i repeated a known id. */
  noteSubmit(pipeline: string, partition: number, duplicates: readonly boolean[]): void {
    const repeated = duplicates.filter(Boolean).length;
    const labels = { pipeline, partition: String(partition) };
    if (duplicates.length > repeated) this.submitted.inc({ ...labels, outcome: 'enqueued' }, duplicates.length - repeated);
    if (repeated > 0) this.submitted.inc({ ...labels, outcome: 'duplicate' }, repeated);
  }
}
