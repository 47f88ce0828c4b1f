/**
 * What `npm run stack` sets up before its services start and reports once they run: the
 * pipeline's partition count (registered first, so every service sees it) and which sequencer
 * leads each partition.
 */
import { connect, getPipeline, registerPipeline } from '@inorder/shared';
import { waitFor } from '@inorder/testkit';
import type { ServiceGroup, ServiceHandle } from './stack.js';

/**
 * Registers `pipeline` as strict with `partitions` partitions, before any service starts (the
 * first registration wins). A pipeline that exists with another count or ordering is refused,
 * naming the command that changes it.
 */
export async function registerPartitions(redisUrl: string, pipeline: string, partitions: number, prefix: string): Promise<void> {
  const redis = connect(redisUrl, { name: 'inorder-stack-register' });
  try {
    await registerPipeline(redis, pipeline, { ordering: 'strict', partitions }, prefix, Date.now(), { partitionCheck: 'exact' });
  } finally {
    redis.disconnect();
  }
}

/** The pipeline's registered partition count (1 when it is not registered). */
export async function partitionCount(redisUrl: string, pipeline: string, prefix: string): Promise<number> {
  const redis = connect(redisUrl, { name: 'inorder-stack-register' });
  try {
    return (await getPipeline(redis, pipeline, prefix))?.partitions ?? 1;
  } finally {
    redis.disconnect();
  }
}

/**
 * The leader of each partition, index = partition: waits up to `timeoutMs` for every partition
 * to have one; a partition still without a leader then is undefined.
 */
export async function leadersOf(group: ServiceGroup, partitions: number, timeoutMs: number): Promise<Array<ServiceHandle | undefined>> {
  const read = (): Promise<Array<ServiceHandle | undefined>> => Promise.all(Array.from({ length: partitions }, (_, p) => group.leader(p)));
  if (group.sequencers.length === 0) return new Array<undefined>(partitions).fill(undefined);
  let leaders = await read();
  await waitFor(async () => (leaders = await read()).every(Boolean), { timeoutMs }).catch(() => undefined);
  return leaders;
}

/** The partitions no sequencer leads, as "3, 5" (empty when every one has a leader). */
export function unled(leaders: ReadonlyArray<unknown>): string {
  return leaders.flatMap((l, p) => (l ? [] : [p])).join(', ');
}
