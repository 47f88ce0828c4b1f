import type { EmitKind } from './partition.js';

export interface BufferedEntry {
  seq: number;
  kind: 'r' | 't';
  /** results stream entry id */
  id: string;
  /** the processor's output envelope (JSON), for results */
  body: string;
  /** when the sequencer read it */
  sequencingAt: number;
}

export interface RunItem {
  seq: number;
  kind: EmitKind;
  id: string;
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

  /** Adds an entry; returns false when its seq is below `next` or already buffered. */
  add(entry: BufferedEntry): boolean {
    if (entry.seq < this.nextSeq || this.entries.has(entry.seq)) return false;
    this.entries.set(entry.seq, entry);
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
      items.push({ seq, kind: entry.kind, id: entry.id, entry });
    }
    return items;
  }

  /** Moves `next` to `to`, forgetting everything below it; returns the dropped entries. */
  advance(to: number): BufferedEntry[] {
    const dropped: BufferedEntry[] = [];
    if (to <= this.nextSeq) return dropped;
    if (to - this.nextSeq < this.entries.size) {
      for (let seq = this.nextSeq; seq < to; seq++) {
        const entry = this.entries.get(seq);
        if (entry) dropped.push(entry);
        this.entries.delete(seq);
      }
    } else {
      for (const [seq, entry] of this.entries) {
        if (seq < to) {
          dropped.push(entry);
          this.entries.delete(seq);
        }
      }
    }
    this.nextSeq = to;
    return dropped;
  }

  clear(next: number): void {
    this.entries.clear();
    this.nextSeq = next;
  }
}
