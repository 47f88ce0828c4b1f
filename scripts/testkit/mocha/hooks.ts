// Root hooks for every test file: an unhandled rejection fails the run instead of vanishing.
const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => {
  unhandled.push(reason);
});

export const mochaHooks = {
  afterEach(): void {
    if (unhandled.length > 0) {
      const reasons = unhandled.splice(0).map((r) => (r instanceof Error ? (r.stack ?? r.message) : String(r)));
      throw new Error(`unhandled rejection(s) during the test:\n${reasons.join('\n')}`);
    }
  },
};
