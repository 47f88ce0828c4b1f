import { Partition, Sequencer, connect, createLogger, loadSequencerConfig, redisReady, runService } from '@inorder/shared';

const logger = createLogger('sequencer');

await runService(logger, async () => {
  const config = loadSequencerConfig();
  logger.level = config.logLevel;
  const log = logger.child({ pipeline: config.pipeline, partition: config.partition });
  const redis = connect(config.redisUrl, { name: 'inorder-sequencer' });
  const blocking = connect(config.redisUrl, { name: 'inorder-sequencer-read' });
  const partition = new Partition(redis, config.pipeline, config.partition, { prefix: config.keyPrefix, seqStart: config.seqStart });
  const sequencer = new Sequencer({ partition, blocking, settings: config, logger: log });
  await sequencer.start();
  return { stop: () => sequencer.stop(), connections: [redis, blocking], ready: () => redisReady(redis), healthPort: config.healthPort };
});
