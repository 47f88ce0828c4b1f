import {
  Metrics,
  PartitionDiscovery,
  Processor,
  Telemetry,
  connect,
  createLogger,
  loadHandler,
  loadProcessorConfig,
  redisConnectOptions,
  redisReady,
  replicaAcksOption,
  runService,
  ShortAckLog,
  simulatedHandler,
  waitUntilConnected,
} from '@inorder/shared';

const logger = createLogger('processor');

await runService(logger, async (signal) => {
  const config = loadProcessorConfig();
  logger.level = config.logLevel;
  const { handler, close } = config.handler ? await loadHandler(config.handler) : { handler: simulatedHandler(config), close: undefined };
  const telemetry = new Telemetry(new Metrics());
  // REPLICA_ACKS: the command connection waits for replicas after each write step; a short wait is logged and counted.
  const replicaAcks = replicaAcksOption(config, new ShortAckLog(logger, (short) => telemetry.metrics.noteShortAck(short)).report);
  const open = (name: string, acks?: typeof replicaAcks) =>
    connect(config.redisUrl, redisConnectOptions(config, { name, logger, replicaAcks: acks }));
  // Two connections whatever the number of partitions served: commands, and wake-ups.
  const redis = open('inorder-processor', replicaAcks);
  // A wrong password or an untrusted certificate stops the start here, naming the cause.
  await waitUntilConnected(redis, { signal });
  const subscriber = open('inorder-processor-wake');
  const processor = new Processor({ telemetry, redis, subscriber, handler, settings: config, logger });
  const discovery = new PartitionDiscovery({
    redis,
    pipeline: config.pipeline,
    partitions: config.partitions,
    prefix: config.keyPrefix,
    seqStart: config.seqStart,
    ordering: config.ordering,
    strictOnly: false,
    server: processor,
    logger,
  });
  await discovery.start();
  await processor.start();
  const stop = async (): Promise<void> => {
    await discovery.stop();
    await processor.stop();
  };
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
