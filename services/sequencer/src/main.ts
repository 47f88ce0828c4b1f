import {
  Sequencer,
  createLogger,
  loadSequencerConfig,
  openServiceConnections,
  redisReady,
  runService,
  startServing,
} from '@inorder/shared';

const logger = createLogger('sequencer');

await runService(logger, async (signal) => {
  const config = loadSequencerConfig();
  logger.level = config.logLevel;
  const { telemetry, redis, subscriber } = await openServiceConnections('sequencer', config, logger, signal);
  const sequencer = new Sequencer({ telemetry, redis, subscriber, settings: config, logger });
  const stop = await startServing(sequencer, { redis, config, logger, ordering: 'strict', strictOnly: true });
  return {
    stop,
    connections: [redis, subscriber],
    ready: () => redisReady(redis),
    healthPort: config.healthPort,
    metrics: telemetry.metrics,
  };
});
