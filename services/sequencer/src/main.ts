import { PartitionDiscovery, Sequencer, connect, createLogger, loadSequencerConfig, redisReady, runService } from '@inorder/shared';

const logger = createLogger('sequencer');

await runService(logger, async () => {
  const config = loadSequencerConfig();
  logger.level = config.logLevel;
  // Two connections whatever the number of partitions served: commands, and wake-ups.
  const redis = connect(config.redisUrl, { name: 'inorder-sequencer' });
  const subscriber = connect(config.redisUrl, { name: 'inorder-sequencer-wake' });
  const sequencer = new Sequencer({ redis, subscriber, settings: config, logger });
  const discovery = new PartitionDiscovery({
    redis, pipeline: config.pipeline, partitions: config.partitions, prefix: config.keyPrefix, seqStart: config.seqStart,
    ordering: 'strict', strictOnly: true, server: sequencer, logger,
  });
  await discovery.start();
  await sequencer.start();
  const stop = async (): Promise<void> => {
    await discovery.stop();
    await sequencer.stop();
  };
  return { stop, connections: [redis, subscriber], ready: () => redisReady(redis), healthPort: config.healthPort };
});
