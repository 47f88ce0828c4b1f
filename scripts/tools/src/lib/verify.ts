/**
 * Checks a pipeline's promises from what it left in Redis: every expected seq exactly once in
 * the output list, the dead-letter list or the skipped set, and the output in strictly
 * increasing seq order.
 */
import { keysFor, type PartitionKeys, type RedisClient } from '@inorder/shared';
import { checkSeqs, expectedSet } from './check-seqs.js';

export { checkSeqs } from './check-seqs.js';

/** How many entries one LRANGE reads: keeps each reply small on a big output list. */
const READ_CHUNK = 10_000;
/** How many examples of each violation a result carries. */

export type Expected = number[] | { from: number; to: number };

export interface VerifyTarget {
  pipeline: string;
  partition?: number;
  prefix?: string;
  expected: Expected;
}

export interface OrderViolation {
  /** position in the output list */
  index: number;
  seq: number;
  previous: number;
}

/**
 * The figures of a verification that every run verifying a pipeline reports under these names
 * (verify, demo, burst, soak, chaos): declared here only.
 */
export interface VerifyFigures {
  /** how many seqs were expected */
  sent: number;
  /** entries in the output list */
  output: number;
  /** entries in the dead-letter list */
  deadLettered: number;
  /** seqs recorded as skipped gaps */
  skipped: number;
  /** expected seqs found nowhere */
  missing: number;
  /** extra occurrences of a seq across output, dead letters and skips */
  duplicates: number;
  /** output positions whose seq is not greater than the one before */
  orderViolations: number;
  /** the first few missing seqs */
  missingSeqs: number[];
}

/** The counts among the figures, with their labels in a terminal report, in the order printed. */
export const VERIFY_LABELS = {
  sent: 'sent',
  output: 'output',
  deadLettered: 'dead-lettered',
  skipped: 'skipped (gaps)',
  missing: 'missing',
  duplicates: 'duplicates',
  orderViolations: 'order violations',
} as const satisfies Record<Exclude<keyof VerifyFigures, 'missingSeqs'>, string>;

export type VerifyCount = keyof typeof VERIFY_LABELS;
const COUNTS = Object.keys(VERIFY_LABELS) as VerifyCount[];

/** Just the figures of a verification, for a run's own result (burst, soak and chaos add theirs). */
export function verifyFigures(result: VerifyFigures): VerifyFigures {
  const { sent, output, deadLettered, skipped, missing, duplicates, orderViolations, missingSeqs } = result;
  return { sent, output, deadLettered, skipped, missing, duplicates, orderViolations, missingSeqs };
}

/** "1 missing, 0 duplicates, 2 order violations": the counts a failed verification is about. */
export function verifyProblems(result: VerifyFigures): string {
  return (['missing', 'duplicates', 'orderViolations'] as const).map((k) => `${result[k]} ${VERIFY_LABELS[k]}`).join(', ');
}

export interface VerifyResult extends VerifyFigures {
  pipeline: string;
  partition: number;
  /** seqs found that were not expected (an earlier run on the same pipeline): reported, not a failure */
  unexpected: number;
  /** entries whose seq could not be read */
  unreadable: number;
  /** no missing, no duplicates, no order violations, nothing unreadable */
  ok: boolean;
  /** the first few duplicated seqs and order violations, for the report */
  duplicateSeqs: number[];
  orderViolationSamples: OrderViolation[];
  /** where messages not yet accounted for still are */
  backlog: Backlog;
}

export interface Backlog {
  /** entries waiting in the input list */
  input: number;
  /** seqs between claim and emit (claimed, waiting for a retry, or done and not yet emitted) */
  inFlight: number;
  /** completed results and tombstones waiting in the stream for the sequencer */
  results: number;
  /** the next seq the sequencer will emit */
  next: number | undefined;
}

/** The seqs found in each place, in list order: what `checkSeqs` needs. */
export interface FoundSeqs {
  output: Array<number | undefined>;
  dead: Array<number | undefined>;
  skipped: number[];
}

/** Reads a whole list in chunks. */
export async function readList(redis: RedisClient, key: string): Promise<string[]> {
  const all: string[] = [];
  for (let start = 0; ; start += READ_CHUNK) {
    const chunk = await redis.lrange(key, start, start + READ_CHUNK - 1);
    all.push(...chunk);
    if (chunk.length < READ_CHUNK) return all;
  }
}

function seqOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
}

/** The seq of an output entry, or undefined when it cannot be read. */
export function outputSeq(raw: string): number | undefined {
  try {
    return seqOf((JSON.parse(raw) as { seq?: unknown }).seq);
  } catch {
    return undefined;
  }
}

/**
 * The seq a dead-letter record accounts for: its own, its envelope's, or the one in its raw input
 * entry; 'copy' for a copy that did not take its seq (a late or conflicting copy, or an entry the
 * processor could not read as that seq: `readSeq`), which accounts for none.
 */
export function deadLetterSeq(raw: string): number | undefined | 'copy' {
  try {
    const record = JSON.parse(raw) as { seq?: unknown; readSeq?: unknown; envelope?: { seq?: unknown }; raw?: unknown };
    if (record.readSeq !== undefined && record.seq === undefined) return 'copy';
    const direct = seqOf(record.seq) ?? seqOf(record.envelope?.seq);
    if (direct !== undefined) return direct;
    if (typeof record.raw === 'string') return outputSeq(record.raw);
  } catch {
    // fall through
  }
  return undefined;
}

/**
 * The seqs of the skipped set: members are ranges `from-to` (a single seq is `n-n`), expanded
 * within the expected seqs (a lost range can be long).
 */
export function skippedSeqs(members: string[], expected: Expected): number[] {
  const want = expectedSet(expected);
  const seqs: number[] = [];
  for (const member of members) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(member);
    if (!m) continue;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (Array.isArray(expected)) {
      for (const seq of want.each()) if (seq >= from && seq <= to) seqs.push(seq);
    } else {
      for (let seq = Math.max(from, expected.from); seq <= Math.min(to, expected.to); seq++) seqs.push(seq);
    }
  }
  return seqs;
}

export async function readBacklog(redis: RedisClient, keys: PartitionKeys): Promise<Backlog> {
  const [input, inFlight, results, next] = await Promise.all([
    redis.llen(keys.input),
    redis.hlen(keys.state),
    redis.xlen(keys.results),
    redis.hget(keys.meta, 'next'),
  ]);
  return { input, inFlight, results, next: next === null ? undefined : Number(next) };
}

/** Output entries, dead letters and skips so far: the seqs a partition has settled, one way or another. */
export async function settledCount(redis: RedisClient, keys: PartitionKeys): Promise<number> {
  const [output, dead, skipped] = await Promise.all([
    redis.llen(keys.output),
    redis.llen(keys.dead),
    redis.hget(keys.meta, 'skipped').then(Number),
  ]);
  return output + dead + skipped;
}

/**
 * Reads the output list, the dead-letter list and the skipped set of one partition and checks
 * them against the expected seqs. `outputEntries` hands back the raw output for callers that
 * also compute latency from it.
 */
export async function verifyPipeline(redis: RedisClient, target: VerifyTarget): Promise<VerifyResult> {
  return (await verifyPipelineWithOutput(redis, target)).result;
}

/** verifyPipeline, also returning the raw output entries it read (for stats). */
export async function verifyPipelineWithOutput(
  redis: RedisClient,
  target: VerifyTarget,
): Promise<{ result: VerifyResult; output: string[] }> {
  const partition = target.partition ?? 0;
  const keys = keysFor(target.pipeline, partition, target.prefix);
  const [output, dead, skipped, backlog] = await Promise.all([
    readList(redis, keys.output),
    readList(redis, keys.dead),
    redis.zrange(keys.skipped, 0, -1),
    readBacklog(redis, keys),
  ]);
  const deadSeqs = dead.map(deadLetterSeq);
  const found: FoundSeqs = {
    output: output.map(outputSeq),
    dead: deadSeqs.filter((s): s is number | undefined => s !== 'copy'),
    skipped: skippedSeqs(skipped, target.expected),
  };
  return { result: { pipeline: target.pipeline, partition, ...checkSeqs(found, target.expected), backlog }, output };
}

/** A few lines for a terminal: the counts, then examples of whatever went wrong. */
export function renderVerify(result: VerifyResult): string {
  const n = (v: number): string => v.toLocaleString('en-US');
  const rows = COUNTS.map((k): [string, string] => [VERIFY_LABELS[k], n(result[k])]);
  if (result.unexpected > 0) rows.push(['not expected', `${n(result.unexpected)} (seqs outside the range checked)`]);
  if (result.unreadable > 0) rows.push(['unreadable', n(result.unreadable)]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
  if (result.missingSeqs.length > 0) {
    lines.push(`  missing seqs: ${result.missingSeqs.join(', ')}${result.missing > result.missingSeqs.length ? ', ...' : ''}`);
    const b = result.backlog;
    lines.push(
      `  still in the pipeline: ${n(b.input)} in input, ${n(b.inFlight)} claimed or waiting, ${n(b.results)} in the results stream; next to emit: ${b.next ?? '-'}`,
    );
  }
  if (result.duplicateSeqs.length > 0) lines.push(`  duplicated seqs: ${result.duplicateSeqs.join(', ')}`);
  for (const v of result.orderViolationSamples.slice(0, 5)) {
    lines.push(`  out of order at output[${v.index}]: seq ${v.seq} after ${v.previous}`);
  }
  lines.push(result.ok ? '  verified: in order, nothing lost, nothing duplicated' : '  VERIFICATION FAILED');
  return lines.join('\n');
}
