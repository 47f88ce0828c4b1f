/**
 * The worker programs' side of bench-peer.ts (bench-bullmq-worker.ts, bench-beequeue-worker.ts):
 * the settings from the environment, commands read from stdin, and the phase's completions
 * reported on stdout.
 *
 * stdin, one JSON object per line:
 *   {"expect":n}     the phase ends when n jobs have completed since the last one ended
 *   (and what the program adds: bee-queue's {"go":true})
 *
 * stdout, one JSON object per line:
 *   {"ready":true}                                   connected (bee-queue: for the phase too)
 *   {"progress":n}                                   jobs completed in this phase (every 200 ms)
 *   {"done":true,"seqs":[...],"started":[...],"finished":[...]}
 *                                                    the phase's completion order (job data seq),
 *                                                    with each job's start and finish times (ms)
 */
import { createInterface } from 'node:readline';

const env = process.env;
export const settings = {
  redisUrl: env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
  queue: env.BENCH_QUEUE ?? 'bench',
  concurrency: Number(env.BENCH_CONCURRENCY ?? 50),
  workMs: Number(env.BENCH_WORK_MS ?? 0),
};

export const send = (message: unknown): boolean => process.stdout.write(`${JSON.stringify(message)}\n`);

/** Host and port of a redis:// URL, as both peers' clients take them. */
export function hostPort(redisUrl: string): { host: string; port: number } {
  const url = new URL(redisUrl);
  return { host: url.hostname, port: Number(url.port || 6379) };
}

/** The handler of every peer: nothing, or a wait of BENCH_WORK_MS. */
export async function work(): Promise<{ workedMs: number }> {
  if (settings.workMs > 0) await new Promise((resolve) => setTimeout(resolve, settings.workMs));
  return { workedMs: settings.workMs };
}

/** The completions of the current phase, reported when the expected count is reached. */
export class PhaseRecorder {
  private expected = Infinity;
  private seqs: number[] = [];
  private started: number[] = [];
  private finished: number[] = [];

  constructor() {
    setInterval(() => send({ progress: this.seqs.length }), 200).unref();
  }

  expect(count: number): void {
    this.expected = count;
  }

  record(seq: number, startedAt: number, finishedAt: number): void {
    this.seqs.push(seq);
    this.started.push(startedAt);
    this.finished.push(finishedAt);
    if (this.seqs.length < this.expected) return;
    send({ done: true, seqs: this.seqs, started: this.started, finished: this.finished });
    this.expected = Infinity;
    this.seqs = [];
    this.started = [];
    this.finished = [];
  }
}

/** Calls `onMessage` with each stdin line's object, in turn (each awaited), and `onEnd` when stdin closes. */
export function readCommands(onMessage: (message: { expect?: number; go?: boolean }) => unknown, onEnd: () => Promise<unknown>): void {
  let chain: Promise<unknown> = Promise.resolve();
  const fail = (error: unknown): void => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  };
  createInterface({ input: process.stdin }).on('line', (line) => {
    const message = line.trim() ? (JSON.parse(line) as { expect?: number; go?: boolean }) : {};
    chain = chain.then(() => onMessage(message)).catch(fail);
  });
  process.stdin.on('end', () => void chain.then(onEnd).finally(() => process.exit()));
}
