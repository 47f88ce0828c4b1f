import { useFixture } from './fixture.js';
import { RedisServer } from './redis-server.js';
import { TestPipeline } from './pipeline.js';

/** A test file's redis-server and the one in-process pipeline that all its tests read. */
export interface SharedPipelineFixture {
  readonly server: RedisServer;
  readonly pipeline: TestPipeline;
}

async function close({ server, pipeline }: SharedPipelineFixture): Promise<void> {
  await pipeline.close();
  await server.destroy();
}

/**
 * Starts a redis-server and a pipeline on it for the calling `describe` (mocha's `before`), and
 * hands the pipeline to `setup` there (to start its processors and sequencers and fill it);
 * closes the pipeline and destroys the server (`after`, or at once when `setup` fails). Call it
 * at the top of a `describe`; read `server` and `pipeline` inside tests.
 */
export function useSharedPipeline(setup: (pipeline: TestPipeline) => Promise<void>): SharedPipelineFixture {
  return useFixture<SharedPipelineFixture>(
    'useSharedPipeline()',
    async () => {
      const server = await RedisServer.start();
      const pipeline = new TestPipeline(server);
      try {
        await setup(pipeline);
      } catch (error) {
        await close({ server, pipeline });
        throw error;
      }
      return { server, pipeline };
    },
    close,
  );
}
