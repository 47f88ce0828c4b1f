import type { Redis } from 'ioredis';
import { useFixture } from './fixture.js';
import { RedisServer } from './redis-server.js';
import { waitFor } from './wait-for.js';

/** A test file's primary, a replica of it, and a plain connection to the primary. */
export interface ReplicaPair {
  readonly primary: RedisServer;
  readonly replica: RedisServer;
  /** the test's own connection to the primary (WAIT, INFO, CLIENT LIST, CLIENT KILL, reads) */
  readonly admin: Redis;
}

/**
 * Starts a redis-server and a replica of it for the calling test file (mocha's `before`), once
 * the replica is attached, synced and acknowledging (WAIT 1 answers at once), and destroys both
 * (`after`). A test may pause either server: both are resumed after each test. Call it at the
 * top of a `describe`; read the parts inside tests and hooks.
 */
export function useReplicaPair(): ReplicaPair {
  const pair = useFixture<ReplicaPair>(
    'useReplicaPair()',
    async () => {
      const primary = await RedisServer.start();
      const replica = await RedisServer.start({ replicaOf: primary.port });
      const admin = primary.client();
      await waitFor(async () => (await admin.set('replica-ready', '1')) && (await admin.wait(1, 100)) === 1, {
        timeoutMs: 10_000,
        message: 'the replica did not attach',
      });
      return { primary, replica, admin };
    },
    async ({ primary, replica, admin }) => {
      admin.disconnect();
      await replica.destroy();
      await primary.destroy();
    },
  );
  afterEach(() => {
    pair.primary.resume();
    pair.replica.resume();
  });
  return pair;
}
