/** Which partitions of a pipeline to serve: every registered one, or these numbers. */
export type PartitionSpec = 'all' | readonly number[];

/** Most partitions a pipeline may have; a spec naming more is refused. */
export const MAX_PARTITIONS = 9999;

/**
 * Reads a partition spec: `all`, or a list and ranges of partition numbers (`0,2,5`, `0-7`,
 * `0-3,8`). Throws a RangeError saying what is wrong.
 */
export function parsePartitionSpec(text: string): PartitionSpec {
  const value = text.trim();
  if (value === 'all') return 'all';
  const out = new Set<number>();
  for (const part of value.split(',')) {
    const m = /^\s*(\d{1,4})(?:\s*-\s*(\d{1,4}))?\s*$/.exec(part);
    if (!m) throw new RangeError(`"${part.trim()}" is not a partition number or range (all, 0,2,5 or 0-7)`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new RangeError(`range ${part.trim()} runs backwards`);
    if (to >= MAX_PARTITIONS) throw new RangeError(`partition ${to} is above ${MAX_PARTITIONS - 1}`);
    for (let p = from; p <= to; p++) out.add(p);
  }
  return [...out].sort((a, b) => a - b);
}
