import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { connect, registerPipeline, silentLogger, type Logger, type RedisClient } from '@inorder/shared';
import { buildApp } from '../../src/app.js';
import { defaultIngestConfig, type IngestConfig } from '../../src/config.js';
import { RedisServer, range, uniquePipeline, useFixture, waitFor, type RedisTarget } from '@inorder/testkit';

/** An ingest app of the test's own, on a loopback port, against the test's redis-server. */
export class TestIngest {
  private constructor(
    readonly app: FastifyInstance,
    /** the app's own fail-fast connection */
    readonly redis: RedisClient,
    readonly config: IngestConfig,
    readonly url: string,
  ) {}

  static async start(server: RedisTarget, overrides: Partial<IngestConfig> = {}, logger: Logger = silentLogger()): Promise<TestIngest> {
    const config = defaultIngestConfig({ redisUrl: server.url, host: '127.0.0.1', port: 0, ...overrides });
    const redis = connect(server.url, { name: 'test-ingest', failFast: true });
    await waitFor(() => redis.status === 'ready', { timeoutMs: 5000, message: 'ingest connection not ready' });
    const app = await buildApp({ redis, config, logger });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    return new TestIngest(app, redis, config, `http://127.0.0.1:${port}`);
  }

  /** POSTs JSON (or a raw string) and returns status, headers and the parsed body (text when not JSON). */
  async post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    return this.request('POST', path, typeof body === 'string' ? body : JSON.stringify(body), headers);
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<Reply> {
    return this.request('GET', path, undefined, headers);
  }

  async request(method: string, path: string, body: string | undefined, headers: Record<string, string> = {}): Promise<Reply> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      body,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    });
    const text = await response.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json };
  }

  async close(): Promise<void> {
    await this.app.close();
    this.redis.disconnect();
  }
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** Messages whose payloads are the numbers `from` to `to`, both included. */
export function payloads(from: number, to: number): Array<{ payload: number }> {
  return range(from, to).map((n) => ({ payload: n }));
}

/** Registers a fresh pipeline and returns its name. */
export async function newPipeline(
  redis: RedisClient,
  ordering: 'strict' | 'none' = 'strict',
  label = 'http',
  partitions = 1,
): Promise<string> {
  const name = uniquePipeline(label);
  await registerPipeline(redis, name, { ordering, partitions });
  return name;
}

/** A test file's redis-server, a plain connection to it, and one ingest app on it. */
export interface IngestFixture {
  readonly server: RedisServer;
  readonly redis: ReturnType<RedisServer['client']>;
  readonly ingest: TestIngest;
}

/**
 * Starts a redis-server and an ingest with `overrides` for the calling test file (mocha's
 * `before`) and closes them (`after`). Call it at the top of a `describe`.
 */
export function useIngest(overrides: Partial<IngestConfig> = {}): IngestFixture {
  return useFixture<IngestFixture>(
    'useIngest()',
    async () => {
      const server = await RedisServer.start();
      return { server, redis: server.client(), ingest: await TestIngest.start(server, overrides) };
    },
    async ({ server, redis, ingest }) => {
      await ingest.close();
      redis.disconnect();
      await server.destroy();
    },
    { timeoutMs: 15_000 },
  );
}
