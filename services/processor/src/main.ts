import {
  Partition, Processor, ProcessorGroup, connect, createLogger, loadHandler, loadProcessorConfig, redisReady, runService, simulatedHandler,
} from '@inorder/shared';

const logger = createLogger('processor');

await runService(logger, async () => {
  const config = loadProcessorConfig();
  logger.level = config.logLevel;
  const handler = config.handler ? await loadHandler(config.handler) : simulatedHandler(config);
  const redis = connect(config.redisUrl, { name: 'inorder-processor' });
  const connections = [redis];
  const ready = (): Promise<boolean> => redisReady(redis);

  if (config.pipeline.includes('*')) {
    // Every registered pipeline matching the pattern, each with its own ordering.
    const group = new ProcessorGroup({
      redis, pattern: config.pipeline, prefix: config.keyPrefix, handler, settings: config, logger,
      connect: () => connect(config.redisUrl, { name: 'inorder-processor-wait' }),
    });
    await group.start();
    return { stop: () => group.stop(), connections, ready, healthPort: config.healthPort };
  }

  const blocking = connect(config.redisUrl, { name: 'inorder-processor-wait' });
  connections.push(blocking);
  const partition = new Partition(redis, config.pipeline, config.partition, { prefix: config.keyPrefix, ordering: config.ordering, seqStart: config.seqStart });
  const processor = new Processor({ partition, blocking, handler, settings: config, logger: logger.child({ pipeline: config.pipeline, partition: config.partition }) });
  await processor.start();
  return { stop: () => processor.stop(), connections, ready, healthPort: config.healthPort };
});
