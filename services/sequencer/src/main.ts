import {
  Metrics,
  PartitionDiscovery,
  Sequencer,
  Telemetry,
  connect,
  createLogger,
  loadSequencerConfig,
  redisConnectOptions,
  redisReady,
  replicaAcksOption,
  runService,
  ShortAckLog,
  waitUntilConnected,
} from '@inorder/shared';

const logger = createLogger('sequencer');

await runService(logger, async (signal) => {
  const config = loadSequencerConfig();
  logger.level = config.logLevel;
  const telemetry = new Telemetry(new Metrics());
  // REPLICA_ACKS: the command connection waits for replicas after each write step; a short wait is logged and counted.
  const replicaAcks = replicaAcksOption(config, new ShortAckLog(logger, (short) => telemetry.metrics.noteShortAck(short)).report);
  const open = (name: string, acks?: typeof replicaAcks) =>
    connect(config.redisUrl, redisConnectOptions(config, { name, logger, replicaAcks: acks }));
  // Two connections whatever the number of partitions served: commands, and wake-ups.
  const redis = open('inorder-sequencer', replicaAcks);
  // A wrong password or an untrusted certificate stops the start here, naming the cause.
  await waitUntilConnected(redis, { signal });
  const subscriber = open('inorder-sequencer-wake');
  const sequencer = new Sequencer({ telemetry, redis, subscriber, settings: config, logger });
  const discovery = new PartitionDiscovery({
    redis,
    pipeline: config.pipeline,
    partitions: config.partitions,
    prefix: config.keyPrefix,
    seqStart: config.seqStart,
    ordering: 'strict',
    strictOnly: true,
    server: sequencer,
    logger,
  });
  await discovery.start();
  await sequencer.start();
  const stop = async (): Promise<void> => {
    await discovery.stop();
    await sequencer.stop();
  };
  return {
    stop,
    connections: [redis, subscriber],
    ready: () => redisReady(redis),
    healthPort: config.healthPort,
    metrics: telemetry.metrics,
  };
});
