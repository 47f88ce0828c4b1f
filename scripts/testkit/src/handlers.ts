import type { Handler } from '@inorder/shared';

/**
 * A handler that answers `{ seq }` after a delay of 0 to `spreadMs - 1` ms picked by the seq, so
 * that processors working side by side finish out of order, the same way on every run.
 */
export function jitteredHandler(spreadMs: number): Handler {
  return async (_p, { seq }) => {
    await new Promise((r) => setTimeout(r, (seq * 7919) % spreadMs));
    return { seq };
  };
}
