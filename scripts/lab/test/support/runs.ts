import { expect } from 'chai';
import type { ScriptRun } from '@inorder/testkit';

/**
 * Asserts that a lab run (demo, burst, soak) exited 0 and that its last JSON line says every one
 * of the `sent` messages came out, in order, none dead-lettered, none missing or duplicated,
 * with `more` besides; returns that JSON object.
 */
export function expectCleanRun(run: ScriptRun, sent: number, more: Record<string, unknown> = {}): Record<string, unknown> {
  expect(run.code, run.stderr).to.equal(0);
  const r = run.json!;
  expect(r).to.include({ ok: true, sent, output: sent, deadLettered: 0, missing: 0, duplicates: 0, orderViolations: 0, ...more });
  return r;
}
