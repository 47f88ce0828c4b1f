import {
  PartitionDiscovery,
  Processor,
  Sequencer,
  connect,
  silentLogger,
  type Handler,
  type ProcessorSettings,
  type RedisClient,
} from '@inorder/shared';
import { fastProcessor, fastSequencer, type RedisTarget } from './pipeline.js';

/** A processor and a sequencer in this process, serving every partition of a pipeline as its count changes. */
export interface PartitionedServices {
  processor: Processor;
  sequencer: Sequencer;
  close(): Promise<void>;
}

/**
 * Starts a processor and a sequencer (two connections each) that serve `PARTITIONS=all` of
 * `pipeline`, reading the registry every `everyMs` (default 200) as the services do every 2 s.
 */
export async function servePartitions(
  server: RedisTarget,
  pipeline: string,
  handler: Handler,
  options: { settings?: Partial<ProcessorSettings>; everyMs?: number } = {},
): Promise<PartitionedServices> {
  const conns = [connect(server.url), connect(server.url), connect(server.url), connect(server.url)];
  const processor = new Processor({
    redis: conns[0]!,
    subscriber: conns[1]!,
    handler,
    settings: { ...fastProcessor, ...options.settings },
    logger: silentLogger(),
  });
  const sequencer = new Sequencer({ redis: conns[2]!, subscriber: conns[3]!, settings: fastSequencer, logger: silentLogger() });
  const discover = (served: Processor | Sequencer, conn: RedisClient, strictOnly: boolean): PartitionDiscovery =>
    new PartitionDiscovery({
      redis: conn,
      pipeline,
      partitions: 'all',
      prefix: 'inorder',
      seqStart: 1,
      ordering: 'strict',
      strictOnly,
      server: served,
      logger: silentLogger(),
      everyMs: options.everyMs ?? 200,
    });
  const discoveries = [discover(processor, conns[0]!, false), discover(sequencer, conns[2]!, true)];
  for (const d of discoveries) await d.start();
  await processor.start();
  await sequencer.start();
  return {
    processor,
    sequencer,
    async close() {
      for (const d of discoveries) await d.stop();
      await processor.stop();
      await sequencer.stop();
      for (const c of conns) c.disconnect();
    },
  };
}
