/**
 * The BullMQ side of the benchmark, run as a child process like inorder's processor: one Worker
 * with the given concurrency, a handler that does nothing or waits WORK_MS. It records the
 * order and time in which jobs complete and, once `count` have, prints them as one JSON line.
 *
 * stdout protocol, one JSON object per line:
 *   {"ready":true}                          the worker is connected and waiting for jobs
 *   {"progress":n}                          n jobs completed so far (every 200 ms)
 *   {"done":true,"seqs":[...],"at":[...]}   completion order (job data seq) and epoch ms
 */
import { Worker } from 'bullmq';

const env = process.env;
const url = new URL(env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379');
const queue = env.BENCH_QUEUE ?? 'bench';
const count = Number(env.BENCH_COUNT ?? 0);
const concurrency = Number(env.BENCH_CONCURRENCY ?? 50);
const workMs = Number(env.BENCH_WORK_MS ?? 0);
const timeoutMs = Number(env.BENCH_TIMEOUT_MS ?? 600_000);

const seqs: number[] = [];
const at: number[] = [];

const worker = new Worker<{ seq: number }>(
  queue,
  async () => {
    if (workMs > 0) await new Promise((resolve) => setTimeout(resolve, workMs));
    return { workedMs: workMs };
  },
  { connection: { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null }, concurrency },
);

const finished = new Promise<void>((resolve) => {
  worker.on('completed', (job) => {
    seqs.push(job.data.seq);
    at.push(Date.now());
    if (seqs.length >= count) resolve();
  });
});
worker.on('error', (error) => process.stderr.write(`bullmq worker: ${error.message}\n`));

await worker.waitUntilReady();
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
const ticker = setInterval(() => process.stdout.write(`${JSON.stringify({ progress: seqs.length })}\n`), 200);
const deadline = setTimeout(() => {
  process.stderr.write(`bullmq worker: ${seqs.length} of ${count} jobs completed within ${timeoutMs} ms\n`);
  process.exitCode = 1;
  void worker.close(true).then(() => process.exit());
}, timeoutMs);

await finished;
clearInterval(ticker);
clearTimeout(deadline);
process.stdout.write(`${JSON.stringify({ done: true, seqs, at })}\n`);
await worker.close();
