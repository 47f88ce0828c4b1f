import type { Expected, FoundSeqs, OrderViolation, VerifyResult } from './verify.js';

/** How many examples of each problem a verification lists. */
const EXAMPLES = 20;

interface ExpectedSet {
  size: number;
  has(seq: number): boolean;
  each(): Iterable<number>;
}

export function expectedSet(expected: Expected): ExpectedSet {
  if (Array.isArray(expected)) {
    const set = new Set(expected);
    return { size: set.size, has: (s) => set.has(s), each: () => set };
  }
  const { from, to } = expected;
  return {
    size: Math.max(0, to - from + 1),
    has: (s) => Number.isInteger(s) && s >= from && s <= to,
    *each() {
      for (let s = from; s <= to; s++) yield s;
    },
  };
}

/** The pure check behind verifyPipeline: counts and examples from the seqs found. */
export function checkSeqs(found: FoundSeqs, expected: Expected): Omit<VerifyResult, 'pipeline' | 'partition' | 'backlog'> {
  const want = expectedSet(expected);
  const { counts, unreadable } = countSeqs(found);
  const order = orderOf(found.output);
  const extra = extraOf(counts, want);
  const absent = missingOf(counts, want);
  return {
    sent: want.size,
    output: found.output.length,
    deadLettered: found.dead.length,
    skipped: found.skipped.length,
    missing: absent.missing,
    duplicates: extra.duplicates,
    orderViolations: order.orderViolations,
    unexpected: extra.unexpected,
    unreadable,
    ok: absent.missing === 0 && extra.duplicates === 0 && order.orderViolations === 0 && unreadable === 0,
    missingSeqs: absent.missingSeqs,
    duplicateSeqs: extra.duplicateSeqs,
    orderViolationSamples: order.orderViolationSamples,
  };
}

/** How often each seq appears in the output, the dead letters and the skipped ranges. */
function countSeqs(found: FoundSeqs): { counts: Map<number, number>; unreadable: number } {
  const counts = new Map<number, number>();
  let unreadable = 0;
  for (const seq of [...found.output, ...found.dead, ...found.skipped]) {
    if (seq === undefined) unreadable++;
    else counts.set(seq, (counts.get(seq) ?? 0) + 1);
  }
  return { counts, unreadable };
}

/** Output entries whose seq is not above the one before: how many, and the first few. */
function orderOf(output: ReadonlyArray<number | undefined>): { orderViolations: number; orderViolationSamples: OrderViolation[] } {
  const orderViolationSamples: OrderViolation[] = [];
  let orderViolations = 0;
  let previous: number | undefined;
  output.forEach((seq, index) => {
    if (seq === undefined) return;
    if (previous !== undefined && seq <= previous) {
      orderViolations++;
      if (orderViolationSamples.length < EXAMPLES) orderViolationSamples.push({ index, seq, previous });
    }
    previous = seq;
  });
  return { orderViolations, orderViolationSamples };
}

/** Seqs found more than once, and seqs found that were not expected. */
function extraOf(counts: Map<number, number>, want: ExpectedSet): { duplicates: number; duplicateSeqs: number[]; unexpected: number } {
  let duplicates = 0;
  let unexpected = 0;
  const duplicateSeqs: number[] = [];
  for (const [seq, n] of counts) {
    if (n > 1) {
      duplicates += n - 1;
      if (duplicateSeqs.length < EXAMPLES) duplicateSeqs.push(seq);
    }
    if (!want.has(seq)) unexpected++;
  }
  duplicateSeqs.sort((a, b) => a - b);
  return { duplicates, duplicateSeqs, unexpected };
}

/** Expected seqs found nowhere: how many, and the first few. */
function missingOf(counts: Map<number, number>, want: ExpectedSet): { missing: number; missingSeqs: number[] } {
  let missing = 0;
  const missingSeqs: number[] = [];
  for (const seq of want.each()) {
    if (counts.has(seq)) continue;
    missing++;
    if (missingSeqs.length < EXAMPLES) missingSeqs.push(seq);
  }
  return { missing, missingSeqs };
}
