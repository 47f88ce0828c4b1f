import { describeToolHelp } from '@inorder/testkit';

describeToolHelp('--help of every lab tool', ['demo', 'burst', 'soak', 'chaos', 'bench', 'stack', 'replica-acks', 'cluster-faults']);
