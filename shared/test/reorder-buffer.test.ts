import { expect } from 'chai';
import { ReorderBuffer, type BufferedEntry } from '@inorder/shared';

const entry = (seq: number, kind: 'r' | 't' = 'r'): BufferedEntry => ({ seq, kind, id: `${seq}-0`, body: kind === 'r' ? `{"seq":${seq}}` : '', sequencingAt: 1000 + seq });

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
    expect(run[0]).to.deep.equal({ seq: 1, kind: 'r', id: '1-0', entry: entry(1) });
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
    expect(buffer.add({ ...entry(10), id: 'other' })).to.equal(false);
    expect(buffer.run(10)[0]?.id).to.equal('10-0');
    expect(buffer.size).to.equal(1);
  });

  it('does not change when a run is read', () => {
    const buffer = new ReorderBuffer(1);
    buffer.add(entry(1));
    buffer.run(10);
    expect(buffer.next).to.equal(1);
    expect(buffer.has(1)).to.equal(true);
  });

  describe('advance', () => {
    it('moves next and forgets everything below it, returning what it dropped', () => {
      const buffer = new ReorderBuffer(1);
      for (const seq of [1, 2, 3, 7, 8]) buffer.add(entry(seq));
      const dropped = buffer.advance(4);
      expect(dropped.map((e) => e.seq)).to.deep.equal([1, 2, 3]);
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
      expect(dropped.map((e) => e.seq).sort((a, b) => a - b)).to.deep.equal([2, 500, 1000]);
      expect(buffer.size).to.equal(1);
      expect(buffer.has(2000)).to.equal(true);
      expect(buffer.next).to.equal(1001);
    });

    it('drops the right entries on a short step over a large buffer', () => {
      const buffer = new ReorderBuffer(1);
      for (let seq = 1; seq <= 100; seq++) if (seq !== 2) buffer.add(entry(seq));
      const dropped = buffer.advance(4);
      expect(dropped.map((e) => e.seq)).to.deep.equal([1, 3]);
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
