import { RedisServer } from './redis-server.js';
import { TestPipeline } from './pipeline.js';

/** A test file's redis-server, and the in-process pipelines its tests open on it. */
export interface PipelineFixture {
  readonly server: RedisServer;
  /** A new pipeline on the file's server, closed after the test that opened it. */
  pipeline(options?: ConstructorParameters<typeof TestPipeline>[1]): TestPipeline;
}

/**
 * Starts a redis-server for the calling test file (mocha's `before`), closes each test's
 * pipelines after it (`afterEach`), and destroys the server (`after`). Call it at the top of a
 * `describe`.
 */
export function usePipelines(): PipelineFixture {
  let server: RedisServer | undefined;
  const open: TestPipeline[] = [];
  before(async function () {
    this.timeout(15_000);
    server = await RedisServer.start();
  });
  afterEach(async () => {
    for (const pipeline of open.splice(0)) await pipeline.close();
  });
  after(async () => {
    await server?.destroy();
  });
  const started = (): RedisServer => {
    if (!server) throw new Error('redis-server not started: call usePipelines() inside describe');
    return server;
  };
  return {
    get server(): RedisServer {
      return started();
    },
    pipeline(options) {
      const pipeline = new TestPipeline(started(), options);
      open.push(pipeline);
      return pipeline;
    },
  };
}
