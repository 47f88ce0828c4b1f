import { connect, type RedisClient } from '@inorder/shared';
import { RedisServer } from './redis-server.js';

/** The test file's own redis-server and one connection with the Lua commands defined. */
export interface RedisFixture {
  readonly server: RedisServer;
  readonly redis: RedisClient;
}

/**
 * Starts a redis-server for the calling test file (mocha's `before`) and destroys it (`after`).
 * Call it at the top of a `describe`; read `server` and `redis` inside tests and hooks.
 */
export function useRedis(): RedisFixture {
  let server: RedisServer | undefined;
  let redis: RedisClient | undefined;
  before(async function () {
    this.timeout(15_000);
    server = await RedisServer.start();
    redis = connect(server.url);
  });
  after(async () => {
    redis?.disconnect();
    await server?.destroy();
  });
  return {
    get server(): RedisServer {
      if (!server) throw new Error('redis-server not started: call useRedis() inside describe');
      return server;
    },
    get redis(): RedisClient {
      if (!redis) throw new Error('redis-server not started: call useRedis() inside describe');
      return redis;
    },
  };
}
