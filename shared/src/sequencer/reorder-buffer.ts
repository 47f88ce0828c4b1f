/**
 * One results stream entry: the seqs one settle call settled. It may leave the stream once none
 * of its seqs is still waiting in the buffer.
 */
export interface StreamEntry {
  id: string;
  /** its seqs still held in the buffer */
  waiting: number;
}

/** A settled seq waiting for its turn: where the leader read it, and when. */
export interface Settled {
  /** the results stream entry naming it (none when the leader found it in the state itself) */
  source: StreamEntry | undefined;
  /** when the leader read it (its sequencingAt) */
  readAt: number;
  /** its createdAt and processedAt, when its stream entry named them (results, not tombstones) */
  createdAt?: number | undefined;
  processedAt?: number | undefined;
}

export interface RunItem {
  seq: number;
  settled: Settled;
}

/**
 * Holds the seqs that were settled ahead of their turn and hands out the contiguous run that
 * starts at `next`. It holds seqs only: the outputs stay in Redis, and emit.lua moves them.
 */
export class ReorderBuffer {
  private readonly entries = new Map<number, Settled>();

  constructor(private nextSeq: number) {}

  get next(): number {
    return this.nextSeq;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Adds a seq; false (counting nothing) when it is below `next` or buffered already. A seq a
   * probe found in the state (no source) takes its stream entry when that is read after all,
   * so its timestamps are known and the entry is held until it is emitted.
   */
  add(seq: number, settled: Settled): boolean {
    if (seq < this.nextSeq) return false;
    const held = this.entries.get(seq);
    if (held) {
      if (!held.source && settled.source) {
        this.entries.set(seq, { ...settled, readAt: held.readAt });
        settled.source.waiting++;
      }
      return false;
    }
    this.entries.set(seq, settled);
    if (settled.source) settled.source.waiting++;
    return true;
  }

  has(seq: number): boolean {
    return this.entries.has(seq);
  }

  /** The lowest buffered seq, or undefined when empty. */
  lowest(): number | undefined {
    let low: number | undefined;
    for (const seq of this.entries.keys()) if (low === undefined || seq < low) low = seq;
    return low;
  }

  /** The highest buffered seq, or undefined when empty. */
  highest(): number | undefined {
    let high: number | undefined;
    for (const seq of this.entries.keys()) if (high === undefined || seq > high) high = seq;
    return high;
  }

  /** The contiguous run from `from` (default `next`), at most `max` long. */
  run(max: number, from = this.nextSeq): RunItem[] {
    const items: RunItem[] = [];
    for (let seq = from; items.length < max; seq++) {
      const settled = this.entries.get(seq);
      if (!settled) break;
      items.push({ seq, settled });
    }
    return items;
  }

  /** The stream entries that hold nothing else once `run` is emitted: those the emit may delete. */
  drained(run: RunItem[]): string[] {
    const count = new Map<StreamEntry, number>();
    for (const item of run) {
      const source = item.settled.source;
      if (source) count.set(source, (count.get(source) ?? 0) + 1);
    }
    const ids: string[] = [];
    for (const [source, n] of count) if (source.waiting === n) ids.push(source.id);
    return ids;
  }

  /** Moves `next` to `to`, forgetting everything below it; returns the ids of entries left with nothing waiting. */
  advance(to: number): string[] {
    const drained: string[] = [];
    if (to <= this.nextSeq) return drained;
    const forget = (seq: number, settled: Settled): void => {
      this.entries.delete(seq);
      if (settled.source && --settled.source.waiting === 0) drained.push(settled.source.id);
    };
    if (to - this.nextSeq < this.entries.size) {
      for (let seq = this.nextSeq; seq < to; seq++) {
        const settled = this.entries.get(seq);
        if (settled) forget(seq, settled);
      }
    } else {
      for (const [seq, settled] of this.entries) if (seq < to) forget(seq, settled);
    }
    this.nextSeq = to;
    return drained;
  }
}
