import {
  PartitionDiscovery, Processor, connect, createLogger, loadHandler, loadProcessorConfig, redisConnectOptions, redisReady, runService,
  simulatedHandler, waitUntilConnected,
} from '@inorder/shared';

const logger = createLogger('processor');

await runService(logger, async (signal) => {
  const config = loadProcessorConfig();
  logger.level = config.logLevel;
  const { handler, close } = config.handler ? await loadHandler(config.handler) : { handler: simulatedHandler(config), close: undefined };
  const open = (name: string) => connect(config.redisUrl, redisConnectOptions(config, { name, logger }));
  // Two connections whatever the number of partitions served: commands, and wake-ups.
  const redis = open('inorder-processor');
  // A wrong password or an untrusted certificate stops the start here, naming the cause.
  await waitUntilConnected(redis, { signal });
  const subscriber = open('inorder-processor-wake');
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
  return {
    stop, close, connections: [redis, subscriber], ready: () => redisReady(redis), healthPort: config.healthPort, shutdownGraceMs: config.shutdownGraceMs,
  };
});
