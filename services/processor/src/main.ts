import {
  PartitionDiscovery, Processor, connect, createLogger, loadHandler, loadProcessorConfig, redisReady, runService, simulatedHandler,
} from '@inorder/shared';

const logger = createLogger('processor');

await runService(logger, async () => {
  const config = loadProcessorConfig();
  logger.level = config.logLevel;
  const handler = config.handler ? await loadHandler(config.handler) : simulatedHandler(config);
  // Two connections whatever the number of partitions served: commands, and wake-ups.
  const redis = connect(config.redisUrl, { name: 'inorder-processor' });
  const subscriber = connect(config.redisUrl, { name: 'inorder-processor-wake' });
  const processor = new Processor({ redis, subscriber, handler, settings: config, logger });
  const discovery = new PartitionDiscovery({
    redis, pipeline: config.pipeline, partitions: config.partitions, prefix: config.keyPrefix, seqStart: config.seqStart,
    ordering: config.ordering, strictOnly: false, server: processor, logger,
  });
  await discovery.start();
  await processor.start();
  const stop = async (): Promise<void> => {
    await discovery.stop();
    await processor.stop();
  };
  return { stop, connections: [redis, subscriber], ready: () => redisReady(redis), healthPort: config.healthPort };
});
