import type { EmitKind } from './partition.js';

/**
 * One results stream entry: a processor's completed batch. It may leave the stream once none
 * of its seqs is still waiting in the buffer.
 */
export interface StreamEntry {
  id: string;
  /** its seqs still held in the buffer */
  waiting: number;
}

export interface BufferedEntry {
  seq: number;
  kind: 'r' | 't';
  /** the results stream entry that holds it */
  source: StreamEntry;
  /** the processor's output envelope (JSON), for results */
  body: string;
  /** when the sequencer read it */
  sequencingAt: number;
}

export interface RunItem {
  seq: number;
  kind: EmitKind;
  entry: BufferedEntry | undefined;
}

/**
 * Holds results that arrived ahead of their turn, keyed by seq, and hands out the contiguous
 * run that starts at `next`. Entries below `next` are refused (they were emitted already).
 */
export class ReorderBuffer {
  private readonly entries = new Map<number, BufferedEntry>();

  constructor(private nextSeq: number) {}

  get next(): number {
    return this.nextSeq;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Adds an entry and counts it as waiting in its stream entry; returns false (and counts
   * nothing) when its seq is below `next` or already buffered.
   */
  add(entry: BufferedEntry): boolean {
    if (entry.seq < this.nextSeq || this.entries.has(entry.seq)) return false;
    this.entries.set(entry.seq, entry);
    entry.source.waiting++;
    return true;
  }

  has(seq: number): boolean {
    return this.entries.has(seq);
  }

  /** The contiguous run from `next`, at most `max` long (empty when `next` is missing). */
  run(max: number): RunItem[] {
    const items: RunItem[] = [];
    for (let seq = this.nextSeq; items.length < max; seq++) {
      const entry = this.entries.get(seq);
      if (!entry) break;
      items.push({ seq, kind: entry.kind, entry });
    }
    return items;
  }

  /**
   * The stream entries that hold nothing else once `run` is emitted: the ones an emit of that
   * run may delete.
   */
  drained(run: RunItem[]): string[] {
    const count = new Map<StreamEntry, number>();
    for (const item of run) if (item.entry) count.set(item.entry.source, (count.get(item.entry.source) ?? 0) + 1);
    const ids: string[] = [];
    for (const [source, n] of count) if (source.waiting === n) ids.push(source.id);
    return ids;
  }

  /**
   * Moves `next` to `to`, forgetting everything below it; returns the ids of stream entries
   * left with no seq waiting.
   */
  advance(to: number): string[] {
    const drained: string[] = [];
    if (to <= this.nextSeq) return drained;
    const forget = (seq: number, entry: BufferedEntry): void => {
      this.entries.delete(seq);
      if (--entry.source.waiting === 0) drained.push(entry.source.id);
    };
    if (to - this.nextSeq < this.entries.size) {
      for (let seq = this.nextSeq; seq < to; seq++) {
        const entry = this.entries.get(seq);
        if (entry) forget(seq, entry);
      }
    } else {
      for (const [seq, entry] of this.entries) if (seq < to) forget(seq, entry);
    }
    this.nextSeq = to;
    return drained;
  }

  clear(next: number): void {
    this.entries.clear();
    this.nextSeq = next;
  }
}
