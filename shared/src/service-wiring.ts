import type { Ordering } from './commands.js';
import { replicaAcksOption } from './config/replica-acks.js';
import { redisConnectOptions } from './config/tls.js';
import type { Logger } from './logger.js';
import type { PartitionSpec } from './partition/spec.js';
import { waitUntilConnected } from './redis-failures.js';
import { connect, type RedisClient, type RedisTls } from './redis.js';
import { PartitionDiscovery, type PartitionServer } from './serving.js';
import { Metrics } from './telemetry/metrics.js';
import { ShortAckLog } from './telemetry/short-acks.js';
import { Telemetry } from './telemetry/telemetry.js';

/** The settings a processor or sequencer process reads to reach Redis and find its partitions. */
export interface WiringConfig {
  redisUrl: string;
  redisTls?: RedisTls | undefined;
  replicaAcks: number;
  replicaAcksTimeoutMs: number;
  pipeline: string;
  partitions: PartitionSpec;
  keyPrefix: string;
  seqStart: number;
}

/** A processor's or sequencer's telemetry and its two Redis connections. */
export interface ServiceConnections {
  telemetry: Telemetry;
  /** commands; with REPLICA_ACKS, each write step waits for replicas on it */
  redis: RedisClient;
  /** wake-ups (Pub/Sub) */
  subscriber: RedisClient;
}

/**
 * Opens the two connections a processor or sequencer process holds whatever the number of
 * partitions it serves. A short replica acknowledgement is logged and counted. Resolves once the
 * command connection is up: a wrong password or an untrusted certificate stops the start here,
 * naming the cause.
 */
export async function openServiceConnections(
  role: 'processor' | 'sequencer',
  config: WiringConfig,
  logger: Logger,
  signal: AbortSignal,
): Promise<ServiceConnections> {
  const telemetry = new Telemetry(new Metrics());
  const replicaAcks = replicaAcksOption(config, new ShortAckLog(logger, (short) => telemetry.metrics.noteShortAck(short)).report);
  const redis = connect(config.redisUrl, redisConnectOptions(config, { name: `inorder-${role}`, logger, replicaAcks }));
  await waitUntilConnected(redis, { signal });
  const subscriber = connect(config.redisUrl, redisConnectOptions(config, { name: `inorder-${role}-wake`, logger }));
  return { telemetry, redis, subscriber };
}

/** A processor or a sequencer: serves the partitions discovery hands it. */
export interface StartableServer extends PartitionServer {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts partition discovery (registering a named pipeline that is new) and then `server`;
 * returns the stop that ends both, discovery first so that no partition is handed over mid-stop.
 */
export async function startServing(
  server: StartableServer,
  wiring: { redis: RedisClient; config: WiringConfig; logger: Logger; ordering: Ordering; strictOnly: boolean },
): Promise<() => Promise<void>> {
  const { redis, config, logger, ordering, strictOnly } = wiring;
  const discovery = new PartitionDiscovery({
    redis,
    pipeline: config.pipeline,
    partitions: config.partitions,
    prefix: config.keyPrefix,
    seqStart: config.seqStart,
    ordering,
    strictOnly,
    server,
    logger,
  });
  await discovery.start();
  await server.start();
  return async () => {
    await discovery.stop();
    await server.stop();
  };
}
