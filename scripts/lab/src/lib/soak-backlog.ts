/**
 * Did the backlog stay bounded? The backlog is what waits in Redis: the input list plus the
 * results stream, sampled every second while the load runs.
 *
 * Rule: the backlog grew without bound when, over the samples taken while the load ran,
 *   (1) the last third's largest backlog is clearly above the first third's: more than twice
 *       it, and more than half a second of arrivals (rate / 2) above it; and
 *   (2) it is still rising: the least-squares slope over the last third exceeds 1% of the rate
 *       per second.
 * A pipeline that keeps up holds a small, flat backlog; one that falls behind by even 2% of the
 * rate grows by 1.2% x rate x 60 s over a minute, which (1) catches, and keeps growing, which
 * (2) catches. A short spike that drained (a fault, a pause) fails (2).
 */
export interface BacklogPoint {
  /** seconds since the first enqueue */
  t: number;
  backlog: number;
}

export interface BacklogVerdict {
  bounded: boolean;
  /** false when there were too few samples (under 6) to judge: then bounded is true */
  judged: boolean;
  firstThirdMax: number;
  lastThirdMax: number;
  /** entries per second over the last third */
  lastThirdSlope: number;
  max: number;
  rule: string;
}

export const BACKLOG_RULE =
  "unbounded when the last third's max backlog (input + results) is above 2x and above rate/2 + the first third's max, and its slope over the last third is above 1% of the rate per second";

/** Least-squares slope of y over t. */
export function slope(points: BacklogPoint[]): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mt = points.reduce((s, p) => s + p.t, 0) / n;
  const mb = points.reduce((s, p) => s + p.backlog, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.backlog - mb);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export function judgeBacklog(points: BacklogPoint[], rate: number): BacklogVerdict {
  const max = points.reduce((m, p) => Math.max(m, p.backlog), 0);
  if (points.length < 6) {
    return { bounded: true, judged: false, firstThirdMax: max, lastThirdMax: max, lastThirdSlope: 0, max, rule: BACKLOG_RULE };
  }
  const third = Math.floor(points.length / 3);
  const first = points.slice(0, third);
  const last = points.slice(points.length - third);
  const firstThirdMax = first.reduce((m, p) => Math.max(m, p.backlog), 0);
  const lastThirdMax = last.reduce((m, p) => Math.max(m, p.backlog), 0);
  const lastThirdSlope = slope(last);
  const clearlyAbove = lastThirdMax > 2 * firstThirdMax && lastThirdMax > firstThirdMax + rate / 2;
  const rising = lastThirdSlope > 0.01 * rate;
  return {
    bounded: !(clearlyAbove && rising),
    judged: true,
    firstThirdMax,
    lastThirdMax,
    lastThirdSlope: Math.round(lastThirdSlope * 10) / 10,
    max,
    rule: BACKLOG_RULE,
  };
}
