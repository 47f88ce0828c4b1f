/** Checks an output list: strictly increasing seqs with nothing missing from `expected`. */
export function checkOrder(seqs: number[], expected: number[]): { missing: number[]; duplicates: number[]; inversions: number } {
  const seen = new Set<number>();
  const duplicates: number[] = [];
  let inversions = 0;
  for (let i = 0; i < seqs.length; i++) {
    const seq = seqs[i]!;
    if (seen.has(seq)) duplicates.push(seq);
    seen.add(seq);
    if (i > 0 && seq <= seqs[i - 1]!) inversions++;
  }
  return { missing: expected.filter((s) => !seen.has(s)), duplicates, inversions };
}

/** The seqs from `from` to `to`, both included. */
export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
