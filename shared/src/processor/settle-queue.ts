import type { Logger } from '../logger.js';
import type { CompleteItem, FailItem, Partition } from '../partition/partition.js';
import { delay } from '../time.js';

export type SettleItem = CompleteItem | FailItem;

/** Most items per Lua call: keeps a call under Redis Cluster's 3,999 arguments. */
const MAX_PER_CALL = 700;
const RETRY_MS = 250;

/**
 * Collects one partition's settled attempts and writes them in as few Lua calls as possible:
 * everything that settles in one turn of the event loop goes out together, completions in one
 * complete.lua call, failures in one fail.lua call. `onWritten` hears, per item, whether Redis
 * took it (false: the claim was no longer the caller's).
 */
export class SettleQueue {
  private completes: CompleteItem[] = [];
  private fails: FailItem[] = [];
  private flushing: Promise<void> | undefined;
  private scheduled = false;

  constructor(
    private readonly partition: Partition,
    private readonly logger: Logger,
    private readonly onWritten: (item: SettleItem, ok: boolean) => void,
  ) {}

  get pending(): number {
    return this.completes.length + this.fails.length;
  }

  push(item: SettleItem): void {
    if ('action' in item) this.fails.push(item);
    else this.completes.push(item);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
  }

  /** Resolves once everything queued so far is written. */
  async drain(): Promise<void> {
    while (this.flushing || this.pending > 0) {
      if (this.flushing) await this.flushing;
      else await this.flush();
    }
  }

  private flush(): Promise<void> {
    this.scheduled = false;
    if (this.flushing) return this.flushing; // the running flush picks the new items up when it ends
    this.flushing = this.write().finally(() => {
      this.flushing = undefined;
      if (this.pending > 0) void this.flush();
    });
    return this.flushing;
  }

  private async write(): Promise<void> {
    const completes = this.completes;
    const fails = this.fails;
    this.completes = [];
    this.fails = [];
    for (let i = 0; i < completes.length; i += MAX_PER_CALL) {
      const items = completes.slice(i, i + MAX_PER_CALL);
      const ok = await this.retrying(items.length, () => this.partition.complete(items));
      items.forEach((item, j) => this.onWritten(item, ok[j] === true));
    }
    for (let i = 0; i < fails.length; i += MAX_PER_CALL) {
      const items = fails.slice(i, i + MAX_PER_CALL);
      const { settled } = await this.retrying(items.length, () => this.partition.fail(items));
      items.forEach((item, j) => this.onWritten(item, settled[j] === true));
    }
  }

  /** Writes until Redis answers: every settle step is idempotent, so writing it again is safe. */
  private async retrying<T>(count: number, call: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await call();
      } catch (error) {
        // Connection drops wait in the offline queue; a script error or timeout lands here.
        this.logger.error('settling attempts failed; retrying', { event: 'settle-failed', error: String(error), items: count });
        await delay(RETRY_MS);
      }
    }
  }
}
