// mocha's spec reporter, plus one plain closing line: "N passed, N failed".
const Mocha = require('mocha');

class SpecWithTotals extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats;
      process.nextTick(() => {
        if (pending) console.log(`${pending} skipped`);
        console.log(`${passes} passed, ${failures} failed`);
      });
    });
  }
}

module.exports = SpecWithTotals;
