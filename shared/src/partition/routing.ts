/**
 * Routing by ordering key: every message of one key goes to one partition, so the key's
 * messages are strictly ordered while different keys are processed in parallel.
 *
 * The partition is `(murmur2(utf8(key)) & 0x7fffffff) % partitions`, murmur2 being the 32-bit
 * MurmurHash2 with seed 0x9747b28c: Kafka's default partitioner for keyed records. A stable,
 * well-spread hash that every language already has an implementation of, so producers in other
 * languages (and Kafka tooling) put a key in the same partition as this code.
 */
export function partitionForKey(key: string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`partitions must be a positive integer, got ${partitions}`);
  return (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % partitions;
}

/** Kafka's `Utils.murmur2`: 32-bit MurmurHash2, seed 0x9747b28c, as a signed 32-bit integer. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const m = 0x5bd1e995;
  const r = 24;
  let h = 0x9747b28c ^ length;
  const fours = length >> 2;
  for (let i = 0; i < fours; i++) {
    const at = i * 4;
    let k = (data[at]! & 0xff) | ((data[at + 1]! & 0xff) << 8) | ((data[at + 2]! & 0xff) << 16) | ((data[at + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = fours * 4;
  const left = length & 3;
  if (left === 3) h ^= (data[tail + 2]! & 0xff) << 16;
  if (left >= 2) h ^= (data[tail + 1]! & 0xff) << 8;
  if (left >= 1) {
    h ^= data[tail]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}
