// The ok/FAIL/skip lines and the closing count of the .ci checks.
let passed = 0;
let failed = 0;
export const ok = (msg) => {
  passed++;
  console.log(`  ok    ${msg}`);
};
export const fail = (msg) => {
  failed++;
  console.log(`  FAIL  ${msg}`);
};
export const skip = (msg) => console.log(`  skip  ${msg}`);

/** Prints `<what>: N checks passed, N failed` and sets the exit code (1 on any failure). */
export function finish(what) {
  console.log(`${what}: ${passed} checks passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}
