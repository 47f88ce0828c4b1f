/**
 * The frame of a tool that works on the one partition its partition flags name (verify, stats,
 * partitions): runTool with that partition read from the flags, and its Redis a call away.
 */
import type { RedisClient } from '@inorder/shared';
import { partitionTarget, runTool, type CliSpec, type FlagOptions, type PartitionTarget, type Tool } from './cli.js';
import { connectForScript } from './connection.js';

/** What a partition tool's main function gets: runTool's, the partition, and a way to its Redis. */
export interface PartitionTool<O extends FlagOptions> extends Tool<O> {
  /** the partition the flags name (--pipeline required; a bad flag has thrown UsageError) */
  target: PartitionTarget;
  /** A fail-fast connection to the partition's Redis, closed by the clean-up: open it once the other flags are checked. */
  connect: () => Promise<RedisClient>;
}

/** runTool, reading the partition flags before anything else. */
export function runPartitionTool<O extends FlagOptions>(spec: CliSpec<O>, main: (tool: PartitionTool<O>) => Promise<void>): Promise<void> {
  return runTool(spec, async (tool) => {
    const target = partitionTarget(tool.flags);
    await main({ ...tool, target, connect: () => connectForScript(target.url, tool.cleanup) });
  });
}
