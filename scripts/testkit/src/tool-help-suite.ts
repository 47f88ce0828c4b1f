import { deepStrictEqual } from 'node:assert/strict';
import { helpProblems, useToolHelp } from './tool-help.js';

/**
 * A mocha suite `title` that runs `--help` of each tool once and checks it with helpProblems:
 * one test per tool, named after it, that fails listing the problems.
 */
export function describeToolHelp(title: string, tools: readonly string[]): void {
  describe(title, function () {
    this.timeout(60_000);
    const help = useToolHelp(tools);
    for (const name of tools) {
      it(`${name}: prints its usage and lists every flag it takes, those that take a value with one`, () => {
        deepStrictEqual(helpProblems(name, help.get(name)), []);
      });
    }
  });
}
