import { expect } from 'chai';
import { ReorderBuffer, type Settled, type StreamEntry } from '@inorder/shared';

const source = (id: string): StreamEntry => ({ id, waiting: 0 });
/** A settled seq as the leader read it; by default alone in a stream entry of its own ("<seq>-0"). */
const settled = (seq: number, from: StreamEntry = source(`${seq}-0`)): Settled => ({ source: from, readAt: 1000 + seq });

/** Adds each seq with a stream entry of its own. */
function filled(next: number, ...seqs: number[]): ReorderBuffer {
  const buffer = new ReorderBuffer(next);
  for (const seq of seqs) expect(buffer.add(seq, settled(seq))).to.equal(true);
  return buffer;
}

describe('ReorderBuffer', () => {
  it('starts empty at the given next', () => {
    const buffer = new ReorderBuffer(5);
    expect(buffer.next).to.equal(5);
    expect(buffer.size).to.equal(0);
    expect(buffer.lowest()).to.equal(undefined);
    expect(buffer.highest()).to.equal(undefined);
    expect(buffer.run(10)).to.deep.equal([]);
  });

  it('gives a seq a probe found in the state its stream entry, timestamps and all, when that is read after all', () => {
    const buffer = new ReorderBuffer(1);
    expect(buffer.add(1, { source: undefined, readAt: 500 })).to.equal(true);
    const entry = source('9-0');
    expect(buffer.add(1, { source: entry, readAt: 700, createdAt: 10, processedAt: 20 })).to.equal(false);
    const [item] = buffer.run(1);
    expect(item!.settled).to.deep.include({ source: entry, readAt: 500, createdAt: 10, processedAt: 20 });
    // The entry is held until the seq goes out, then named for deletion.
    expect(entry.waiting).to.equal(1);
    expect(buffer.advance(2)).to.deep.equal(['9-0']);
    // A second read of a seq already named by an entry changes nothing.
    const again = new ReorderBuffer(1);
    again.add(1, settled(1));
    expect(again.add(1, { source: source('x'), readAt: 1, createdAt: 1, processedAt: 1 })).to.equal(false);
    expect(again.run(1)[0]!.settled.source?.id).to.equal('1-0');
  });

  it('hands out the contiguous run from next, in seq order, whatever the arrival order', () => {
    const buffer = filled(1, 3, 1, 2, 5);
    const run = buffer.run(10);
    expect(run.map((i) => i.seq)).to.deep.equal([1, 2, 3]);
    expect(run.map((i) => i.settled.source?.id)).to.deep.equal(['1-0', '2-0', '3-0']);
    expect(run.map((i) => i.settled.readAt)).to.deep.equal([1001, 1002, 1003]);
  });

  it('gives an empty run while next is missing, however much is buffered behind it', () => {
    const buffer = filled(1, 2, 3, 4);
    expect(buffer.run(10)).to.deep.equal([]);
    expect(buffer.size).to.equal(3);
  });

  it('caps a run at max', () => {
    const buffer = filled(1, ...Array.from({ length: 10 }, (_, i) => i + 1));
    expect(buffer.run(4).map((i) => i.seq)).to.deep.equal([1, 2, 3, 4]);
    expect(buffer.run(0)).to.deep.equal([]);
  });

  it('hands out the run from a given seq past next (the seqs after a gap to skip)', () => {
    const buffer = filled(1, 2, 5, 6, 7, 9);
    expect(buffer.run(10, 5).map((i) => i.seq)).to.deep.equal([5, 6, 7]);
    expect(buffer.run(2, 5).map((i) => i.seq)).to.deep.equal([5, 6]);
    expect(buffer.run(10, 3)).to.deep.equal([]);
    expect(buffer.next, 'reading a run moves nothing').to.equal(1);
  });

  it('answers its lowest and highest buffered seqs', () => {
    const buffer = filled(10, 40, 12, 99, 15);
    expect(buffer.lowest()).to.equal(12);
    expect(buffer.highest()).to.equal(99);
    buffer.advance(41);
    expect(buffer.lowest()).to.equal(99);
    expect(buffer.highest()).to.equal(99);
  });

  it('holds a seq the leader found in the state itself, with no stream entry', () => {
    const buffer = new ReorderBuffer(1);
    expect(buffer.add(1, { source: undefined, readAt: 1001 })).to.equal(true);
    const run = buffer.run(10);
    expect(run).to.deep.equal([{ seq: 1, settled: { source: undefined, readAt: 1001 } }]);
    expect(buffer.drained(run)).to.deep.equal([]);
    expect(buffer.advance(2)).to.deep.equal([]);
  });

  it('refuses, counting nothing, a seq below next (emitted already) and a second entry for a buffered seq', () => {
    const buffer = new ReorderBuffer(10);
    const stale = source('stale');
    expect(buffer.add(9, settled(9, stale))).to.equal(false);
    expect(stale.waiting).to.equal(0);
    expect(buffer.add(10, settled(10))).to.equal(true);
    const other = source('other');
    expect(buffer.add(10, settled(10, other))).to.equal(false);
    expect(other.waiting, 'a refused seq is not counted in its stream entry').to.equal(0);
    expect(buffer.run(10)[0]?.settled.source?.id).to.equal('10-0');
    expect(buffer.size).to.equal(1);
  });

  it('does not change when a run is read', () => {
    const buffer = filled(1, 1);
    buffer.run(10);
    expect(buffer.next).to.equal(1);
    expect(buffer.has(1)).to.equal(true);
    expect(buffer.size).to.equal(1);
  });

  describe('stream entries holding several seqs', () => {
    it('counts the seqs each stream entry has waiting', () => {
      const buffer = new ReorderBuffer(1);
      const a = source('a');
      for (const seq of [1, 3, 5]) buffer.add(seq, settled(seq, a));
      expect(a.waiting).to.equal(3);
    });

    it('names as drained only the entries a run empties', () => {
      const buffer = new ReorderBuffer(1);
      const [a, b, c] = [source('a'), source('b'), source('c')];
      buffer.add(1, settled(1, a));
      buffer.add(2, settled(2, b));
      buffer.add(3, settled(3, a));
      buffer.add(4, settled(4, b));
      buffer.add(5, settled(5, c));
      expect(buffer.drained(buffer.run(3))).to.deep.equal(['a']);
      expect(buffer.drained(buffer.run(4)).sort()).to.deep.equal(['a', 'b']);
      expect(buffer.drained(buffer.run(10)).sort()).to.deep.equal(['a', 'b', 'c']);
      expect(buffer.drained([])).to.deep.equal([]);
    });

    it('returns from advance the entries left with nothing waiting', () => {
      const buffer = new ReorderBuffer(1);
      const [a, b] = [source('a'), source('b')];
      for (const seq of [1, 2]) buffer.add(seq, settled(seq, a));
      for (const seq of [3, 9]) buffer.add(seq, settled(seq, b));
      expect(buffer.advance(4)).to.deep.equal(['a']);
      expect(a.waiting).to.equal(0);
      expect(b.waiting).to.equal(1);
      expect(buffer.advance(10)).to.deep.equal(['b']);
    });
  });

  describe('advance', () => {
    it('moves next and forgets everything below it, returning the entries it drained', () => {
      const buffer = filled(1, 1, 2, 3, 7, 8);
      expect(buffer.advance(4)).to.deep.equal(['1-0', '2-0', '3-0']);
      expect(buffer.next).to.equal(4);
      expect(buffer.size).to.equal(2);
      expect(buffer.has(3)).to.equal(false);
      expect(buffer.has(7)).to.equal(true);
      expect(buffer.add(3, settled(3))).to.equal(false);
    });

    it('drops the right entries when jumping far past a sparse buffer', () => {
      const buffer = filled(1, 2, 500, 1000, 2000);
      expect(buffer.advance(1001).sort()).to.deep.equal(['1000-0', '2-0', '500-0']);
      expect(buffer.size).to.equal(1);
      expect(buffer.has(2000)).to.equal(true);
      expect(buffer.next).to.equal(1001);
    });

    it('drops the right entries on a short step over a large buffer', () => {
      const buffer = filled(1, ...Array.from({ length: 100 }, (_, i) => i + 1).filter((s) => s !== 2));
      expect(buffer.advance(4)).to.deep.equal(['1-0', '3-0']);
      expect(buffer.size).to.equal(97);
      expect(buffer.run(3).map((i) => i.seq)).to.deep.equal([4, 5, 6]);
    });

    it('never moves next backwards', () => {
      const buffer = filled(10, 10);
      expect(buffer.advance(5)).to.deep.equal([]);
      expect(buffer.advance(10)).to.deep.equal([]);
      expect(buffer.next).to.equal(10);
      expect(buffer.has(10)).to.equal(true);
    });
  });
});
