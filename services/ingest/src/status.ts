import { Partition, type PartitionStatus, type PipelineSettings, type RedisClient } from '@inorder/shared';

export type { PartitionStatus } from '@inorder/shared';

export interface PipelineStatus {
  pipeline: string;
  ordering: PipelineSettings['ordering'];
  partitions: PartitionStatus[];
}

export async function pipelineStatus(
  redis: RedisClient,
  pipeline: string,
  settings: PipelineSettings,
  prefix: string,
): Promise<PipelineStatus> {
  const partitions: PartitionStatus[] = [];
  for (let p = 0; p < settings.partitions; p++) {
    partitions.push(await new Partition(redis, pipeline, p, { prefix, ordering: settings.ordering }).status());
  }
  return { pipeline, ordering: settings.ordering, partitions };
}
