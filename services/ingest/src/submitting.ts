import { keysFor, type Logger, type PipelineSettings, type SubmitMessage, type SubmitResult } from '@inorder/shared';
import type { IngestContext } from './context.js';
import { submitToPartition } from './assigned-seqs.js';
import { PipelineResizingError, RedisUnavailableError, withRedis } from './errors.js';

/** Where a submit went and what submit.lua answered, once it was not refused for its routing. */
export interface Routed {
  partition: number;
  result: Exclude<SubmitResult, { kind: 'expired' | 'resizing' | 'stale-partitions' }>;
}

/**
 * Submits to the partition `route` picks from the pipeline's settings, passing the partition
 * count it routed by. When submit.lua says the count has changed since the settings were read
 * (a resize ended meanwhile), the cached settings are dropped and the messages routed and
 * submitted once more. Throws a 503 while the pipeline is being resized or Redis gave up.
 */
export async function routeAndSubmit(
  context: IngestContext,
  request: { logger: Logger; deadline: number; name: string; settings: PipelineSettings },
  messages: readonly SubmitMessage[],
  route: (settings: PipelineSettings) => number,
  limits: { maxAhead?: number } = {},
): Promise<Routed> {
  const { redis, config, assigned, directory } = context;
  const { logger, deadline, name } = request;
  let settings = request.settings;
  // With REPLICA_ACKS, Redis must run the submit early enough to leave its WAIT time before the deadline.
  const runBy = config.replicaAcks > 0 ? deadline - config.replicaAcksTimeoutMs : deadline;
  for (let attempt = 1; ; attempt++) {
    const partition = route(settings);
    const keys = keysFor(name, partition, config.keyPrefix);
    const result = await withRedis(deadline - Date.now(), 'submit', () =>
      submitToPartition({ redis, assigned, logger }, { pipeline: name, partition, keys }, messages, {
        ordering: settings.ordering,
        seqStart: config.seqStart,
        dedupTtlMs: config.dedupTtlMs,
        deadline: runBy,
        partitions: settings.partitions,
        ...limits,
      }),
    );
    switch (result.kind) {
      case 'expired':
        throw new RedisUnavailableError(`Redis ran the submit after its ${config.redisTimeoutMs} ms deadline`);
      case 'resizing':
        throw new PipelineResizingError(name, result.to);
      case 'stale-partitions': {
        directory.forget(name);
        if (attempt > 1) throw new PipelineResizingError(name, result.partitions);
        logger.info('partition count changed: routing again', { pipeline: name, was: settings.partitions, now: result.partitions });
        const fresh = await withRedis(deadline - Date.now(), 'registry lookup', () => directory.get(name));
        if (!fresh) throw new RedisUnavailableError(`pipeline ${name} left the registry during the submit`);
        settings = fresh;
        continue;
      }
      default:
        return { partition, result };
    }
  }
}
