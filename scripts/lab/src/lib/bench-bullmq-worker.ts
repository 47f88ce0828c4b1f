/**
 * The BullMQ side of the benchmark, run as a child process like inorder's processor: one Worker
 * with the given concurrency and BullMQ's defaults otherwise, a handler that does nothing or
 * waits WORK_MS. The bench pre-fills a queue with BullMQ's own pause (Queue.pause, then resume),
 * so this worker runs from the start; it is told on stdin how many jobs end a phase, and reports
 * each job's processedOn and finishedOn (protocol: bench-peer-child.ts).
 */
import { Worker } from 'bullmq';
import { PhaseRecorder, hostPort, readCommands, send, settings, work } from './bench-peer-child.js';

const recorder = new PhaseRecorder();
const worker = new Worker<{ seq: number }>(settings.queue, work, {
  connection: { ...hostPort(settings.redisUrl), maxRetriesPerRequest: null },
  concurrency: settings.concurrency,
});

worker.on('completed', (job) => recorder.record(job.data.seq, job.processedOn ?? 0, job.finishedOn ?? Date.now()));
worker.on('error', (error) => process.stderr.write(`bullmq worker: ${error.message}\n`));

await worker.waitUntilReady();
readCommands(
  (message) => {
    if (message.expect !== undefined) recorder.expect(message.expect);
  },
  () => worker.close(),
);
send({ ready: true });
