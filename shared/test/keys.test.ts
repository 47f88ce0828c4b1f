import { expect } from 'chai';
import { assertPipelineName, keysFor } from '@inorder/shared';

/** The part of a key Redis Cluster hashes: the first {...} with something inside, else the key. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) return key;
  return key.slice(open + 1, close);
}

/** Redis Cluster's slot of a key: CRC16 (XMODEM) of its hash tag, mod 16384. */
function slot(key: string): number {
  let crc = 0;
  for (const byte of Buffer.from(hashTag(key))) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

describe('keys', () => {
  it('computes cluster slots the way Redis does (known values)', () => {
    expect(slot('foo')).to.equal(12182);
    expect(slot('{user1000}.following')).to.equal(slot('{user1000}.followers'));
    expect(slot('123456789')).to.equal(0x31c3 % 16384);
  });

  it('puts every key of a partition under one hash tag, so every script touches one slot', () => {
    const keys = Object.values(keysFor('orders', 3));
    expect(keys.length).to.be.greaterThan(5);
    for (const key of keys) {
      expect(hashTag(key), key).to.equal('orders:3');
      expect(key.split('{').length - 1, `${key} has one {`).to.equal(1);
    }
    expect(new Set(keys.map(slot)).size).to.equal(1);
  });

  it('gives every key its own name', () => {
    const keys = Object.values(keysFor('orders', 0));
    expect(new Set(keys).size).to.equal(keys.length);
  });

  it('starts every key with the prefix', () => {
    for (const key of Object.values(keysFor('orders', 0, 'staging'))) expect(key.startsWith('staging:{orders:0}:'), key).to.equal(true);
    for (const key of Object.values(keysFor('orders', 0))) expect(key.startsWith('inorder:{orders:0}:'), key).to.equal(true);
  });

  it('keeps pipelines and partitions apart, and spreads partitions over slots', () => {
    const a = new Set(Object.values(keysFor('orders', 0)));
    for (const other of [keysFor('orders', 1), keysFor('orders-0', 0), keysFor('orders', 0, 'other')]) {
      for (const key of Object.values(other)) expect(a.has(key), key).to.equal(false);
    }
    const slots = new Set(Array.from({ length: 16 }, (_, p) => slot(keysFor('orders', p).input)));
    expect(slots.size).to.be.greaterThan(8);
  });

  it('accepts names of A-Z a-z 0-9 _ . - up to 100 characters', () => {
    for (const name of ['a', 'orders', 'events-7', 'a.b_c-D9', 'x'.repeat(100)]) {
      expect(() => assertPipelineName(name), name).not.to.throw();
      expect(() => keysFor(name, 0), name).not.to.throw();
    }
  });

  it('refuses pipeline names that could break the key scheme', () => {
    for (const name of ['', 'a b', 'a{b', 'b}', '{x}', 'a:b', 'a*', 'a/b', 'ü', 'a\nb', 'x'.repeat(101)]) {
      expect(() => assertPipelineName(name), JSON.stringify(name)).to.throw(RangeError, /pipeline name/);
      expect(() => keysFor(name, 0), JSON.stringify(name)).to.throw(RangeError);
    }
  });

  it('refuses a partition that is not a non-negative integer', () => {
    for (const partition of [-1, 1.5, Number.NaN, Infinity]) {
      expect(() => keysFor('orders', partition), String(partition)).to.throw(RangeError, /partition/);
    }
  });
});
