import { expect } from 'chai';
import { checkOrder, range, type OutputEntry, type TestPipeline } from '@inorder/testkit';

/** Asserts that the output holds every seq of `expected`, none twice, in increasing order. */
export function expectInOrder(output: ReadonlyArray<{ seq: number }>, expected: number[], message?: string): void {
  expect(
    checkOrder(
      output.map((e) => e.seq),
      expected,
    ),
    message,
  ).to.deep.equal({ missing: [], duplicates: [], inversions: 0 });
}

/** Waits until `count` messages settled, asserts the output is seqs 1..count in order (see expectInOrder) and returns it. */
export async function expectSettledInOrder(pipeline: TestPipeline, count: number, timeoutMs?: number): Promise<OutputEntry[]> {
  await pipeline.settled(count, timeoutMs);
  const output = await pipeline.output();
  expectInOrder(output, range(1, count));
  return output;
}
