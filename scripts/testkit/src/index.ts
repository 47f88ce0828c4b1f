/**
 * What every test suite and the lab share: throwaway Redis (one server, or a cluster), services
 * and tools run as child processes, in-process pipelines, polling, order checks, captured logs
 * and TLS certificates. Nothing here touches a Redis it did not start.
 */
export * from './children.js';
export * from './cluster-faults.js';
export * from './logs.js';
export * from './order.js';
export * from './partitioned.js';
export * from './pipeline-fixture.js';
export * from './pipeline.js';
export * from './pipeline-run.js';
export * from './ports.js';
export * from './prometheus.js';
export * from './redis-cluster.js';
export * from './redis-fixture.js';
export * from './redis-server.js';
export * from './run-script.js';
export * from './service-process.js';
export * from './steady-load.js';
export * from './tls-certificates.js';
export * from './tool-help.js';
export * from './wait-for.js';
export * from './handlers.js';
export * from './chromium.js';
export * from './tool-help-suite.js';
export * from './shared-pipeline.js';
export * from './replica-pair.js';
export * from './fixture.js';
