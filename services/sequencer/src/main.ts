import {
  Partition, Sequencer, connect, createLogger, loadSequencerConfig, redisConnectOptions, redisReady, runService, waitUntilConnected,
} from '@inorder/shared';

const logger = createLogger('sequencer');

await runService(logger, async (signal) => {
  const config = loadSequencerConfig();
  logger.level = config.logLevel;
  const log = logger.child({ pipeline: config.pipeline, partition: config.partition });
  const open = (name: string) => connect(config.redisUrl, redisConnectOptions(config, { name, logger }));
  const redis = open('inorder-sequencer');
  // A wrong password or an untrusted certificate stops the start here, naming the cause.
  await waitUntilConnected(redis, { signal });
  const blocking = open('inorder-sequencer-read');
  const partition = new Partition(redis, config.pipeline, config.partition, { prefix: config.keyPrefix, seqStart: config.seqStart });
  const sequencer = new Sequencer({ partition, blocking, settings: config, logger: log });
  await sequencer.start();
  return { stop: () => sequencer.stop(), connections: [redis, blocking], ready: () => redisReady(redis), healthPort: config.healthPort };
});
