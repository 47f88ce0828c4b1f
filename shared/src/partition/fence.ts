/**
 * A sequencer leadership's fencing token, `owner:epoch`: written by fence.lua when a leader
 * takes over and compared whole by emit.lua (a failover with asynchronous replication can lose
 * an epoch increment and hand two leaders the same number, never the same owner and number).
 */
export interface Fence {
  owner: string;
  epoch: number;
}

export function formatFence(fence: Fence): string {
  return `${fence.owner}:${fence.epoch}`;
}

/** Reads `owner:epoch`; undefined for anything else. Owners never hold ":". */
export function parseFence(text: string | null | undefined): Fence | undefined {
  if (!text) return undefined;
  const at = text.lastIndexOf(':');
  const epoch = Number(text.slice(at + 1));
  if (at <= 0 || !Number.isSafeInteger(epoch) || epoch < 1) return undefined;
  return { owner: text.slice(0, at), epoch };
}
