import type { Logger } from './logger.js';
import type { CompleteItem, FailItem, Partition } from './partition.js';
import { delay } from './time.js';

type Item = CompleteItem | FailItem;
type Kind = 'complete' | 'retry' | 'dead';

/** Most items per Lua call: keeps a call under Redis Cluster's 3,999 arguments. */
const MAX_PER_CALL = 700;
const RETRY_MS = 250;

/**
 * Collects settled attempts and writes them in as few Lua calls as possible: everything that
 * settles in one turn of the event loop goes out together. One flush at a time, so that a
 * claim's lease is released only in or after the call that settles its last seq.
 */
export class SettleQueue {
  private completes: CompleteItem[] = [];
  private fails: FailItem[] = [];
  private tokens: string[] = [];
  private flushing: Promise<void> | undefined;
  private scheduled = false;

  constructor(
    private readonly partition: Partition,
    private readonly logger: Logger,
    private readonly onSettled: (kind: Kind, ok: boolean, item: Item) => void,
  ) {}

  /** Queues one item; `finishedToken` is the claim whose last seq this is. */
  push(item: Item, finishedToken?: string): void {
    if ('action' in item) this.fails.push(item);
    else this.completes.push(item);
    if (finishedToken) this.tokens.push(finishedToken);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
  }

  /** Resolves once everything queued so far is written. */
  async drain(): Promise<void> {
    while (this.flushing || this.completes.length > 0 || this.fails.length > 0 || this.tokens.length > 0) {
      if (this.flushing) await this.flushing;
      else await this.flush();
    }
  }

  private flush(): Promise<void> {
    this.scheduled = false;
    if (this.flushing) {
      // The running flush picks the new items up when it ends.
      return this.flushing;
    }
    this.flushing = this.write().finally(() => {
      this.flushing = undefined;
      if (this.completes.length > 0 || this.fails.length > 0 || this.tokens.length > 0) void this.flush();
    });
    return this.flushing;
  }

  private async write(): Promise<void> {
    const completes = this.completes;
    const fails = this.fails;
    const tokens = this.tokens;
    this.completes = [];
    this.fails = [];
    this.tokens = [];
    const calls: Array<{ items: Item[]; tokens: string[]; fail: boolean }> = [];
    for (let i = 0; i < completes.length; i += MAX_PER_CALL) calls.push({ items: completes.slice(i, i + MAX_PER_CALL), tokens: [], fail: false });
    for (let i = 0; i < fails.length; i += MAX_PER_CALL) calls.push({ items: fails.slice(i, i + MAX_PER_CALL), tokens: [], fail: true });
    if (calls.length === 0) calls.push({ items: [], tokens: [], fail: false });
    calls[calls.length - 1]!.tokens = tokens;

    for (const call of calls) {
      for (;;) {
        try {
          const ok = call.fail
            ? await this.partition.fail(call.items as FailItem[], call.tokens)
            : await this.partition.complete(call.items as CompleteItem[], call.tokens);
          call.items.forEach((item, i) => {
            const kind: Kind = 'action' in item ? item.action : 'complete';
            if (!ok[i]) this.logger.warn('claim no longer ours; attempt result discarded', { seq: item.seq, kind });
            this.onSettled(kind, ok[i] === true, item);
          });
          break;
        } catch (error) {
          // Only a script error lands here (connection drops wait in the offline queue); the
          // step is idempotent, so writing it again is safe.
          this.logger.error('settling attempts failed; retrying', { error: String(error), items: call.items.length });
          await delay(RETRY_MS);
        }
      }
    }
  }
}
