import { enqueue, type NewMessage, type RedisClient } from '@inorder/shared';

export interface SteadyLoadOptions {
  /** messages per enqueue call, per partition (default 5) */
  batch?: number;
  /** ms between two enqueue calls of a partition (default 20) */
  everyMs?: number;
}

/**
 * A producer that keeps enqueueing numbered messages into every partition of a pipeline, each
 * partition in its own loop, through enqueue(). A call that fails (a failover, CLUSTERDOWN,
 * TRYAGAIN) is sent again with the same seqs until it is acknowledged: a copy that had landed
 * after all is dropped by the claim as a duplicate. `acknowledged[p]` is the highest seq
 * enqueue() acknowledged in partition p.
 */
export class SteadyLoad {
  readonly acknowledged: number[];
  /** enqueue calls that failed and were sent again */
  failures = 0;
  private stopped = false;
  private readonly loops: Array<Promise<void>> = [];

  constructor(
    private readonly redis: RedisClient,
    private readonly pipeline: string,
    partitions: number,
    private readonly options: SteadyLoadOptions = {},
  ) {
    this.acknowledged = Array.from({ length: partitions }, () => 0);
  }

  start(): this {
    for (let p = 0; p < this.acknowledged.length; p++) this.loops.push(this.run(p));
    return this;
  }

  /** Stops after the calls in flight are acknowledged (or fail). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  /** Messages acknowledged over every partition. */
  get total(): number {
    return this.acknowledged.reduce((a, b) => a + b, 0);
  }

  private async run(partition: number): Promise<void> {
    const batch = this.options.batch ?? 5;
    while (!this.stopped) {
      const from = this.acknowledged[partition]! + 1;
      const messages: NewMessage[] = [];
      for (let seq = from; seq < from + batch; seq++) messages.push({ seq, payload: { partition, seq } });
      try {
        await enqueue(this.redis, { pipeline: this.pipeline, partition }, messages);
        this.acknowledged[partition] = from + batch - 1;
      } catch {
        this.failures++;
      }
      await new Promise((resolve) => setTimeout(resolve, this.options.everyMs ?? 20));
    }
  }
}
