/**
 * The bee-queue side of the benchmark, run as a child process like BullMQ's worker: one Queue with
 * the given concurrency (Queue#process) and bee-queue's defaults otherwise (among them
 * removeOnSuccess: false, so every succeeded job stays in the jobs hash and the succeeded set),
 * a handler that does nothing or waits WORK_MS. Protocol: bench-peer-child.ts; bee-queue has no
 * pause, so on {"expect":n} this program opens the queue anew (closing the last phase's) and says
 * {"ready":true}, and on {"go":true} starts processing. It reports, per job, when the handler
 * started and when bee-queue said the job succeeded.
 */
import BeeQueue from 'bee-queue';
import { PhaseRecorder, hostPort, readCommands, send, settings, work } from './bench-peer-child.js';

type Job = BeeQueue.Job<{ seq: number }>;

const recorder = new PhaseRecorder();
const started = new WeakMap<Job, number>();
let queue: BeeQueue<{ seq: number }> | undefined;
let processing = false;

/** Opens the queue, unless the one open has not processed yet; closes the last one first. */
async function open(): Promise<void> {
  if (queue && !processing) return;
  await queue?.close();
  processing = false;
  const q = new BeeQueue<{ seq: number }>(settings.queue, { redis: hostPort(settings.redisUrl) });
  q.on('succeeded', (job) => recorder.record(job.data.seq, started.get(job) ?? 0, Date.now()));
  q.on('error', (error) => process.stderr.write(`bee-queue worker: ${error.message}\n`));
  await q.ready();
  queue = q;
}

function go(): void {
  processing = true;
  queue!.process(settings.concurrency, async (job: Job) => {
    started.set(job, Date.now());
    return work();
  });
}

await open();
readCommands(
  async (message) => {
    if (message.expect !== undefined) {
      await open();
      recorder.expect(message.expect);
      send({ ready: true });
    }
    if (message.go) go();
  },
  async () => queue?.close(),
);
send({ ready: true });
