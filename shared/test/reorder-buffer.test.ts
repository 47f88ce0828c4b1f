import { expect } from 'chai';
import { ReorderBuffer, type BufferedEntry, type StreamEntry } from '@inorder/shared';

const source = (id: string): StreamEntry => ({ id, waiting: 0 });
/** A buffered seq; by default alone in a stream entry of its own ("<seq>-0"). */
const entry = (seq: number, kind: 'r' | 't' = 'r', from: StreamEntry = source(`${seq}-0`)): BufferedEntry => ({
  seq,
  kind,
  source: from,
  body: kind === 'r' ? `{"seq":${seq}}` : '',
  sequencingAt: 1000 + seq,
});

describe('ReorderBuffer', () => {
  it('starts empty at the given next', () => {
    const buffer = new ReorderBuffer(5);
    expect(buffer.next).to.equal(5);
    expect(buffer.size).to.equal(0);
    expect(buffer.run(10)).to.deep.equal([]);
  });

  it('hands out the contiguous run from next, in seq order, whatever the arrival order', () => {
    const buffer = new ReorderBuffer(1);
    for (const seq of [3, 1, 2, 5]) expect(buffer.add(entry(seq))).to.equal(true);
    const run = buffer.run(10);
    expect(run.map((i) => i.seq)).to.deep.equal([1, 2, 3]);
    expect(run[0]?.seq).to.equal(1);
    expect(run[0]?.kind).to.equal('r');
    expect(run[0]?.entry?.source.id).to.equal('1-0');
  });

  it('gives an empty run while next is missing, however much is buffered behind it', () => {
    const buffer = new ReorderBuffer(1);
    for (const seq of [2, 3, 4]) buffer.add(entry(seq));
    expect(buffer.run(10)).to.deep.equal([]);
    expect(buffer.size).to.equal(3);
  });

  it('caps a run at max', () => {
    const buffer = new ReorderBuffer(1);
    for (let seq = 1; seq <= 10; seq++) buffer.add(entry(seq));
    expect(buffer.run(4).map((i) => i.seq)).to.deep.equal([1, 2, 3, 4]);
    expect(buffer.run(0)).to.deep.equal([]);
  });

  it('carries tombstones in the run with their kind', () => {
    const buffer = new ReorderBuffer(1);
    buffer.add(entry(1));
    buffer.add(entry(2, 't'));
    expect(buffer.run(10).map((i) => [i.seq, i.kind])).to.deep.equal([[1, 'r'], [2, 't']]);
  });

  it('refuses an entry below next (already emitted) and a second entry for a buffered seq', () => {
    const buffer = new ReorderBuffer(10);
    expect(buffer.add(entry(9))).to.equal(false);
    expect(buffer.add(entry(10))).to.equal(true);
    const other = source('other');
    expect(buffer.add(entry(10, 'r', other))).to.equal(false);
    expect(other.waiting, 'a refused seq is not counted in its stream entry').to.equal(0);
    expect(buffer.run(10)[0]?.entry?.source.id).to.equal('10-0');
    expect(buffer.size).to.equal(1);
  });

  describe('stream entries holding several seqs', () => {
    it('counts the seqs each stream entry has waiting', () => {
      const buffer = new ReorderBuffer(1);
      const a = source('a');
      for (const seq of [1, 3, 5]) buffer.add(entry(seq, 'r', a));
      expect(a.waiting).to.equal(3);
    });

    it('names as drained only the entries a run empties', () => {
      const buffer = new ReorderBuffer(1);
      const a = source('a');
      const b = source('b');
      const c = source('c');
      buffer.add(entry(1, 'r', a));
      buffer.add(entry(2, 'r', b));
      buffer.add(entry(3, 't', a));
      buffer.add(entry(4, 'r', b));
      buffer.add(entry(5, 'r', c));
      expect(buffer.drained(buffer.run(3))).to.deep.equal(['a']);
      expect(buffer.drained(buffer.run(4)).sort()).to.deep.equal(['a', 'b']);
      expect(buffer.drained(buffer.run(10)).sort()).to.deep.equal(['a', 'b', 'c']);
      expect(buffer.drained([{ seq: 1, kind: 's', entry: undefined }])).to.deep.equal([]);
    });

    it('returns from advance the entries left with nothing waiting', () => {
      const buffer = new ReorderBuffer(1);
      const a = source('a');
      const b = source('b');
      for (const seq of [1, 2]) buffer.add(entry(seq, 'r', a));
      for (const seq of [3, 9]) buffer.add(entry(seq, 'r', b));
      expect(buffer.advance(4)).to.deep.equal(['a']);
      expect(b.waiting).to.equal(1);
      expect(buffer.advance(10)).to.deep.equal(['b']);
    });
  });

  it('does not change when a run is read', () => {
    const buffer = new ReorderBuffer(1);
    buffer.add(entry(1));
    buffer.run(10);
    expect(buffer.next).to.equal(1);
    expect(buffer.has(1)).to.equal(true);
  });

  describe('advance', () => {
    it('moves next and forgets everything below it, returning the entries it drained', () => {
      const buffer = new ReorderBuffer(1);
      for (const seq of [1, 2, 3, 7, 8]) buffer.add(entry(seq));
      const dropped = buffer.advance(4);
      expect(dropped).to.deep.equal(['1-0', '2-0', '3-0']);
      expect(buffer.next).to.equal(4);
      expect(buffer.size).to.equal(2);
      expect(buffer.has(3)).to.equal(false);
      expect(buffer.has(7)).to.equal(true);
      expect(buffer.add(entry(3))).to.equal(false);
    });

    it('drops the right entries when jumping far past a sparse buffer', () => {
      const buffer = new ReorderBuffer(1);
      for (const seq of [2, 500, 1000, 2000]) buffer.add(entry(seq));
      const dropped = buffer.advance(1001);
      expect(dropped.sort()).to.deep.equal(['1000-0', '2-0', '500-0']);
      expect(buffer.size).to.equal(1);
      expect(buffer.has(2000)).to.equal(true);
      expect(buffer.next).to.equal(1001);
    });

    it('drops the right entries on a short step over a large buffer', () => {
      const buffer = new ReorderBuffer(1);
      for (let seq = 1; seq <= 100; seq++) if (seq !== 2) buffer.add(entry(seq));
      const dropped = buffer.advance(4);
      expect(dropped).to.deep.equal(['1-0', '3-0']);
      expect(buffer.size).to.equal(97);
      expect(buffer.run(3).map((i) => i.seq)).to.deep.equal([4, 5, 6]);
    });

    it('never moves next backwards', () => {
      const buffer = new ReorderBuffer(10);
      buffer.add(entry(10));
      expect(buffer.advance(5)).to.deep.equal([]);
      expect(buffer.advance(10)).to.deep.equal([]);
      expect(buffer.next).to.equal(10);
      expect(buffer.has(10)).to.equal(true);
    });
  });

  it('clear forgets everything and restarts at the given next', () => {
    const buffer = new ReorderBuffer(1);
    for (const seq of [1, 2, 3]) buffer.add(entry(seq));
    buffer.clear(50);
    expect(buffer.size).to.equal(0);
    expect(buffer.next).to.equal(50);
    expect(buffer.add(entry(49))).to.equal(false);
    expect(buffer.add(entry(50))).to.equal(true);
  });
});
