import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { FastHistogram } from './fast-histogram.js';

/**
 * The Prometheus metrics of a processor or sequencer process, in one registry per process,
 * labelled by pipeline and partition (bounded: a process serves the partitions its settings
 * name, and the registry holds at most MAX_PIPELINES pipelines). Names and units follow
 * Prometheus conventions; the README lists each one.
 */
export class Metrics {
  readonly registry: Registry;
  readonly claimed: Counter<'pipeline' | 'partition'>;
  readonly completed: Counter<'pipeline' | 'partition'>;
  readonly failed: Counter<'pipeline' | 'partition'>;
  readonly retried: Counter<'pipeline' | 'partition'>;
  readonly deadLettered: Counter<'pipeline' | 'partition' | 'reason'>;
  readonly duplicates: Counter<'pipeline' | 'partition'>;
  readonly reaped: Counter<'pipeline' | 'partition'>;
  readonly emitted: Counter<'pipeline' | 'partition'>;
  readonly skipped: Counter<'pipeline' | 'partition' | 'cause'>;
  readonly stage: FastHistogram;
  readonly inputBacklog: Gauge<'pipeline' | 'partition'>;
  readonly parked: Gauge<'pipeline' | 'partition'>;
  readonly inFlight: Gauge<'pipeline' | 'partition'>;
  readonly reorderBuffer: Gauge<'pipeline' | 'partition'>;
  readonly nextLag: Gauge<'pipeline' | 'partition'>;
  readonly oldestWaiting: Gauge<'pipeline' | 'partition'>;
  readonly leader: Gauge<'pipeline' | 'partition'>;
  readonly stalled: Gauge<'pipeline' | 'partition'>;
  readonly leaseRenewal: Histogram<'pipeline' | 'partition'>;
  readonly replicaAcksShort: Counter<'pipeline' | 'partition' | 'step'>;

  constructor(registry = new Registry(), options: { defaults?: boolean } = {}) {
    this.registry = registry;
    if (options.defaults !== false) collectDefaultMetrics({ register: registry, prefix: 'inorder_' });
    const part = ['pipeline', 'partition'] as const;
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> =>
      new Counter({ name, help, labelNames, registers: [registry] });
    const gauge = (name: string, help: string): Gauge<'pipeline' | 'partition'> =>
      new Gauge({ name, help, labelNames: part, registers: [registry] });
    this.claimed = counter('inorder_messages_claimed_total', 'Messages claimed by this processor', part);
    this.completed = counter('inorder_messages_completed_total', 'Attempts completed (results written)', part);
    this.failed = counter('inorder_messages_failed_total', 'Attempts that failed (the handler threw, rejected or timed out)', part);
    this.retried = counter('inorder_messages_retried_total', 'Failed attempts scheduled for a retry', part);
    this.deadLettered = counter('inorder_messages_dead_lettered_total', 'Messages moved to the dead-letter list, by reason', [
      ...part,
      'reason',
    ]);
    this.duplicates = counter('inorder_messages_duplicate_total', 'Copies of a seq dropped as duplicates', part);
    this.reaped = counter('inorder_claims_reaped_total', 'Seqs returned to the input from processors that stopped beating', part);
    this.emitted = counter('inorder_messages_emitted_total', 'Results appended to the output in order', part);
    this.skipped = counter('inorder_messages_skipped_total', 'Seqs skipped: never produced (gap) or lost by Redis (lost)', [
      ...part,
      'cause',
    ]);
    this.stage = new FastHistogram(
      'inorder_stage_duration_seconds',
      'Time each message spent in each stage, from its five timestamps: queue_wait, work (processors); hand_off, reorder_wait, end_to_end (sequencer)',
      [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registry,
      [...part, 'stage'],
    );
    this.inputBacklog = gauge('inorder_input_backlog', 'Messages waiting to be claimed (input list or priority queue)');
    this.parked = gauge('inorder_parked', 'Strict input held back because its seq is a WINDOW or more ahead of next');
    this.inFlight = gauge('inorder_in_flight', 'Messages this processor holds under a claim');
    this.reorderBuffer = gauge('inorder_reorder_buffer_size', 'Settled seqs the leader holds ahead of next');
    this.nextLag = gauge('inorder_next_lag', 'Seqs accepted into the partition and not yet emitted (accepted - next + 1)');
    this.oldestWaiting = gauge('inorder_oldest_waiting_age_seconds', 'Age of the message at the head of the input (from its createdAt)');
    this.leader = gauge('inorder_leader', '1 while this sequencer leads the partition, else 0');
    this.stalled = gauge('inorder_stalled', '1 while the order has not moved for GAP_TIMEOUT_MS with work waiting, else 0');
    this.replicaAcksShort = replicaAcksShortCounter(registry);
    this.leaseRenewal = new Histogram({
      name: 'inorder_lease_renewal_duration_seconds',
      help: 'How long each extension of a leader lease took',
      labelNames: part,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    });
  }

  /** Counts a write step whose WAIT came back short (REPLICA_ACKS). */
  noteShortAck(short: { pipeline: string; partition: number; step: string }): void {
    this.replicaAcksShort.inc({ ...labels(short.pipeline, short.partition), step: short.step });
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * inorder_replica_acks_short_total: write steps (submit, complete, fail, emit) whose WAIT came back
 * with fewer replicas than REPLICA_ACKS asks for. Shared with the ingest's registry.
 */
export function replicaAcksShortCounter(registry: Registry): Counter<'pipeline' | 'partition' | 'step'> {
  return new Counter({
    name: 'inorder_replica_acks_short_total',
    help: 'Write steps (submit, complete, fail, emit) whose WAIT came back with fewer replicas than REPLICA_ACKS asks for',
    labelNames: ['pipeline', 'partition', 'step'],
    registers: [registry],
  });
}

/** A partition's label values, as strings. */
export function labels(pipeline: string, partition: number): { pipeline: string; partition: string } {
  return { pipeline, partition: String(partition) };
}
