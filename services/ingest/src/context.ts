import type { Logger, RedisClient } from '@inorder/shared';
import type { AssignedSeqs } from './assigned-seqs.js';
import type { ApiKeys } from './auth.js';
import type { IngestConfig } from './config.js';
import type { IngestMetrics } from './metrics.js';
import type { PipelineDirectory } from './pipelines.js';

/** What the routes share. */
export interface IngestContext {
  redis: RedisClient;
  config: IngestConfig;
  logger: Logger;
  directory: PipelineDirectory;
  apiKeys: ApiKeys;
  /** the highest seq this process assigned per partition: the floor after a Redis rollback */
  assigned: AssignedSeqs;
  metrics: IngestMetrics;
}
