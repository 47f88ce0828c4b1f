import { expect } from 'chai';
import { helpProblems, useToolHelp } from '@inorder/testkit';

const TOOLS = ['demo', 'burst', 'soak', 'chaos', 'bench', 'stack', 'replica-acks', 'cluster-faults'];

describe('--help of every lab tool', function () {
  this.timeout(60_000);
  const help = useToolHelp(TOOLS);
  for (const name of TOOLS) {
    it(`${name}: prints its usage and lists every flag it takes, those that take a value with one`, () => {
      expect(helpProblems(name, help.get(name))).to.deep.equal([]);
    });
  }
});
