import { expect } from 'chai';
import { keysFor } from '@inorder/shared';
import { AssignedSeqs } from '../src/assigned-seqs.js';
import { BoundedMap } from '../src/bounded-map.js';

describe('AssignedSeqs (the floor after a Redis rollback)', () => {
  const keys = (n: number) => keysFor(`floor-${n}`, 0);

  it('remembers the highest seq assigned per partition, never a lower one', () => {
    const seqs = new AssignedSeqs();
    expect(seqs.floor(keys(1))).to.equal(0);
    seqs.record(keys(1), 7);
    seqs.record(keys(1), 3);
    expect(seqs.floor(keys(1))).to.equal(7);
    expect(seqs.floor(keys(2))).to.equal(0);
  });

  it('keeps at most its capacity of partitions, forgetting the least recently used', () => {
    const seqs = new AssignedSeqs(2);
    seqs.record(keys(1), 1);
    seqs.record(keys(2), 2);
    expect(seqs.floor(keys(1))).to.equal(1); // used: now the most recent
    seqs.record(keys(3), 3);
    expect(seqs.size).to.equal(2);
    expect([seqs.floor(keys(1)), seqs.floor(keys(2)), seqs.floor(keys(3))]).to.deep.equal([1, 0, 3]);
  });

  it('BoundedMap refuses a capacity below 1', () => {
    expect(() => new BoundedMap(0)).to.throw(RangeError);
  });
});
