/**
 * What the operator tools are made of, for the lab to build on: flag parsing, output and
 * clean-up (cli), the frame of a tool on one partition (partition-tool), verification of a
 * pipeline's promises (verify), latency per stage (stats), and fail-fast connections (connection).
 */
export * from './cli.js';
export * from './connection.js';
export * from './format.js';
export * from './stats.js';
export * from './verify.js';
export * from './partition-tool.js';
