import {
  Partition, Processor, ProcessorGroup, connect, createLogger, loadHandler, loadProcessorConfig, redisConnectOptions, redisReady, runService,
  simulatedHandler, waitUntilConnected,
} from '@inorder/shared';

const logger = createLogger('processor');

await runService(logger, async (signal) => {
  const config = loadProcessorConfig();
  logger.level = config.logLevel;
  const { handler, close } = config.handler ? await loadHandler(config.handler) : { handler: simulatedHandler(config), close: undefined };
  const open = (name: string) => connect(config.redisUrl, redisConnectOptions(config, { name, logger }));
  const redis = open('inorder-processor');
  // A wrong password or an untrusted certificate stops the start here, naming the cause.
  await waitUntilConnected(redis, { signal });
  const connections = [redis];
  const running = { connections, ready: () => redisReady(redis), healthPort: config.healthPort, close, shutdownGraceMs: config.shutdownGraceMs };

  if (config.pipeline.includes('*')) {
    // Every registered pipeline matching the pattern, each with its own ordering.
    const group = new ProcessorGroup({
      redis, pattern: config.pipeline, prefix: config.keyPrefix, handler, settings: config, logger, connect: () => open('inorder-processor-wait'),
    });
    await group.start();
    return { ...running, stop: () => group.stop() };
  }

  const blocking = open('inorder-processor-wait');
  connections.push(blocking);
  const partition = new Partition(redis, config.pipeline, config.partition, { prefix: config.keyPrefix, ordering: config.ordering, seqStart: config.seqStart });
  const processor = new Processor({ partition, blocking, handler, settings: config, logger: logger.child({ pipeline: config.pipeline, partition: config.partition }) });
  await processor.start();
  return { ...running, stop: () => processor.stop() };
});
