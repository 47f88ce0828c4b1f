/**
 * The lab's engines, for runs of one's own: local topology (stack), bursts (burst), steady loads
 * (soak-run), faults (chaos-*), the comparison with BullMQ and bee-queue (bench-*) and run reports
 * (report*).
 * bench-bullmq-worker.ts and bench-beequeue-worker.ts are programs of their own (the peers' worker
 * processes), not exported, nor is their shared part, bench-peer-child.ts.
 */
export * from './bench-beequeue.js';
export * from './bench-bullmq.js';
export * from './bench-inorder.js';
export * from './bench-metrics.js';
export * from './bench-partitions.js';
export * from './bench-peer.js';
export * from './bench-plan.js';
export * from './bench-profile.js';
export * from './bench-report.js';
export * from './bench-run.js';
export * from './bench-scripts.js';
export * from './bench-summary.js';
export * from './bench-target.js';
export * from './burst-report.js';
export * from './burst.js';
export * from './chaos-faults.js';
export * from './chaos-plan.js';
export * from './chaos-summary.js';
export * from './report-html.js';
export * from './report-series.js';
export * from './report.js';
export * from './soak-backlog.js';
export * from './soak-run.js';
export * from './soak-summary.js';
export * from './stack.js';
