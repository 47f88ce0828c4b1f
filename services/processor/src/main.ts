import {
  Processor,
  createLogger,
  loadHandler,
  loadProcessorConfig,
  openServiceConnections,
  redisReady,
  runService,
  simulatedHandler,
  startServing,
} from '@inorder/shared';

const logger = createLogger('processor');

await runService(logger, async (signal) => {
  const config = loadProcessorConfig();
  logger.level = config.logLevel;
  const { handler, close } = config.handler ? await loadHandler(config.handler) : { handler: simulatedHandler(config), close: undefined };
  const { telemetry, redis, subscriber } = await openServiceConnections('processor', config, logger, signal);
  const processor = new Processor({ telemetry, redis, subscriber, handler, settings: config, logger });
  const stop = await startServing(processor, { redis, config, logger, ordering: config.ordering, strictOnly: false });
  return {
    stop,
    close,
    connections: [redis, subscriber],
    ready: () => redisReady(redis),
    healthPort: config.healthPort,
    metrics: telemetry.metrics,
    shutdownGraceMs: config.shutdownGraceMs,
  };
});
