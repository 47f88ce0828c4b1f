/**
 * Which faults a chaos run injects and when: a plan drawn from a seeded PRNG, so that a seed
 * repeats the same kinds, order, moments and targets.
 */
import seedrandom from 'seedrandom';

export const FAULT_KINDS = ['processor-kill', 'processor-pause', 'leader-kill', 'leader-pause', 'client-kill', 'redis-restart'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface PlannedFault {
  kind: FaultKind;
  /** not before this many seconds after the first enqueue (later if the previous fault is still healing) */
  atS: number;
  /** picks a target (e.g. which processor) */
  pick: number;
}

/** Parses "processor-kill,leader-kill:2" into kinds, repeated as asked. Throws on an unknown kind. */
export function parseFaults(spec: string): FaultKind[] {
  const kinds: FaultKind[] = [];
  for (const part of spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [name, times = '1'] = part.split(':');
    if (!(FAULT_KINDS as readonly string[]).includes(name!)) {
      throw new RangeError(`unknown fault "${name}"; choose from ${FAULT_KINDS.join(', ')}`);
    }
    const n = Number(times);
    if (!Number.isInteger(n) || n < 1 || n > 100) throw new RangeError(`"${part}": the count after ":" must be 1..100`);
    for (let i = 0; i < n; i++) kinds.push(name as FaultKind);
  }
  if (kinds.length === 0) throw new RangeError('no faults chosen');
  return kinds;
}

/**
 * The seconds the faults are spread over: a steady load's duration, or a burst's ideal time
 * (ceil(count / (processors x concurrency)) rounds of work), at least 5 s.
 */
export function faultWindowS(
  load: { kind: 'steady'; durationMs: number } | { kind: 'burst'; count: number },
  processors: number,
  concurrency: number,
  workMs: number,
): number {
  if (load.kind === 'steady') return load.durationMs / 1000;
  return Math.max(5, (Math.ceil(load.count / Math.max(1, processors * concurrency)) * workMs) / 1000);
}

/**
 * Shuffles the kinds and spreads them over [15%, 75%] of the run: moments drawn at random,
 * sorted, so the pipeline runs undisturbed at the start and has time to heal before the end.
 */
export function planFaults(kinds: FaultKind[], runS: number, seed: string): PlannedFault[] {
  const random = seedrandom(seed);
  const order = [...kinds];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const moments = order.map(() => runS * (0.15 + 0.6 * random())).sort((a, b) => a - b);
  return order.map((kind, i) => ({ kind, atS: Math.round(moments[i]! * 100) / 100, pick: random() }));
}
