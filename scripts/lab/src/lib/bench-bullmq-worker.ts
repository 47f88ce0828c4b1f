/**
 * The BullMQ side of the benchmark, run as a child process like inorder's processor: one Worker
 * with the given concurrency and BullMQ's defaults otherwise, a handler that does nothing or
 * waits WORK_MS. The bench pre-fills a queue with BullMQ's own pause (Queue.pause, then resume),
 * so this worker runs from the start; it is told on stdin how many jobs end a phase.
 *
 * stdin, one JSON object per line:
 *   {"expect":n}     the phase ends when n jobs have completed since the last one ended
 *
 * stdout, one JSON object per line:
 *   {"ready":true}                                   connected, not taking jobs yet
 *   {"progress":n}                                   jobs completed in this phase (every 200 ms)
 *   {"done":true,"seqs":[...],"started":[...],"finished":[...]}
 *                                                    the phase's completion order (job data seq),
 *                                                    with each job's processedOn and finishedOn
 */
import { createInterface } from 'node:readline';
import { Worker } from 'bullmq';

const env = process.env;
const url = new URL(env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379');
const queue = env.BENCH_QUEUE ?? 'bench';
const concurrency = Number(env.BENCH_CONCURRENCY ?? 50);
const workMs = Number(env.BENCH_WORK_MS ?? 0);

const send = (message: unknown): boolean => process.stdout.write(`${JSON.stringify(message)}\n`);

let expected = Infinity;
let seqs: number[] = [];
let started: number[] = [];
let finished: number[] = [];

const worker = new Worker<{ seq: number }>(
  queue,
  async () => {
    if (workMs > 0) await new Promise((resolve) => setTimeout(resolve, workMs));
    return { workedMs: workMs };
  },
  { connection: { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null }, concurrency },
);

worker.on('completed', (job) => {
  seqs.push(job.data.seq);
  started.push(job.processedOn ?? 0);
  finished.push(job.finishedOn ?? Date.now());
  if (seqs.length >= expected) {
    send({ done: true, seqs, started, finished });
    expected = Infinity;
    seqs = [];
    started = [];
    finished = [];
  }
});
worker.on('error', (error) => process.stderr.write(`bullmq worker: ${error.message}\n`));

await worker.waitUntilReady();
createInterface({ input: process.stdin }).on('line', (line) => {
  const message = line.trim() ? (JSON.parse(line) as { expect?: number }) : {};
  if (message.expect !== undefined) expected = message.expect;
});
setInterval(() => send({ progress: seqs.length }), 200).unref();
process.stdin.on('end', () => void worker.close().finally(() => process.exit()));
send({ ready: true });
