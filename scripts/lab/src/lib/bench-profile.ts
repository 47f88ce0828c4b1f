/**
 * CPU profiles of the inorder services under `bench --profile`: each service runs with
 * `node --cpu-prof` (NODE_OPTIONS may not carry it) and writes a .cpuprofile when it exits; this reads
 * them back and tells where each process spent its time: self time per function and per file,
 * and the garbage collector's share.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ROOT } from '@inorder/testkit';
import { round } from './bench-metrics.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  /** processor, sequencer or other, from the entry point the profile ran */
  role: string;
  /** sampled time with the process busy (idle excluded), ms */
  busyMs: number;
  /** share of busy time, in % */
  gcPct: number;
  topFunctions: Array<{ name: string; where: string; pct: number }>;
  topFiles: Array<{ file: string; pct: number }>;
}

const shortUrl = (url: string): string =>
  url
    .replace(/^file:\/\//, '')
    .replace(ROOT, '')
    .replace(/^.*node_modules\//, 'node_modules/');

/** Self time per profile node, µs. */
function selfTimes(profile: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  return self;
}

export function summariseProfile(file: string, profile: CpuProfile, top = 12): ProfileSummary {
  const self = selfTimes(profile);
  const byFunction = new Map<string, { name: string; where: string; us: number }>();
  const byFile = new Map<string, number>();
  let busy = 0;
  let gc = 0;
  for (const node of profile.nodes) {
    const us = self.get(node.id) ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)' || us === 0) continue;
    busy += us;
    if (functionName === '(garbage collector)') gc += us;
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const key = `${functionName}@${where}`;
    const f = byFunction.get(key) ?? { name: functionName || '(anonymous)', where, us: 0 };
    f.us += us;
    byFunction.set(key, f);
    const group = url ? shortUrl(url).replace(/^(node_modules\/(@[^/]+\/)?[^/]+).*/, '$1') : functionName;
    byFile.set(group, (byFile.get(group) ?? 0) + us);
  }
  const urls = profile.nodes.map((n) => n.callFrame.url).join(' ');
  const role = /services\/processor\//.test(urls) ? 'processor' : /services\/sequencer\//.test(urls) ? 'sequencer' : 'other';
  const pct = (us: number): number => (busy > 0 ? round((us / busy) * 100, 1) : 0);
  return {
    file,
    role,
    busyMs: round(busy / 1000, 0),
    gcPct: pct(gc),
    topFunctions: [...byFunction.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, pct: pct(f.us) })),
    topFiles: [...byFile]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([f, us]) => ({ file: f, pct: pct(us) })),
  };
}

export function renderProfile(s: ProfileSummary): string {
  const lines = [`  ${s.role} (${s.file}): ${s.busyMs} ms busy, garbage collector ${s.gcPct}%`];
  for (const f of s.topFunctions) lines.push(`    ${f.pct.toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`);
  lines.push('    by file or package: ' + s.topFiles.map((f) => `${f.file} ${f.pct}%`).join(', '));
  return lines.join('\n');
}

/** Where the profiles go, the environment that makes the services write them, and their summary. */
export function profileSetup(reportDir: string | undefined, startedAt: number): { dir: string; nodeArgs: string[]; summarise(): string } {
  const dir = resolve(reportDir ?? join(ROOT, 'reports'), `bench-profiles-${new Date(startedAt).toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(dir, { recursive: true });
  return {
    dir,
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
    summarise() {
      const files = readdirSync(dir)
        .filter((f) => f.endsWith('.cpuprofile'))
        .sort();
      const parts = files.map((f) => renderProfile(summariseProfile(f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile)));
      return [`  CPU profiles (whole process lives, cold and warm phases) in ${dir}:`, ...parts].join('\n');
    },
  };
}
