import { describeToolHelp } from '@inorder/testkit';

describeToolHelp('--help of every operator tool', ['verify', 'stats', 'dlq', 'partitions']);
