/**
 * Delay before retry number `attempt` (1 = after the first failure): exponential from `baseMs`,
 * capped at `maxMs`, with equal jitter (half fixed, half random) so that a burst of failures
 * does not come back as a burst.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.round(exp / 2 + random() * (exp / 2));
}
