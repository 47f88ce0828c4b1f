import { expect } from 'chai';
import { Redis } from 'ioredis';
import { RedisConnectionError, connect, describeConnectionError, waitUntilConnected, type RedisClient } from '@inorder/shared';
import { RedisServer, freePort, capturingLogger, waitFor } from '@inorder/testkit';

/** An error as Node or ioredis raises it: a message and, for system errors, a code. */
function systemError(message: string, fields: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), fields);
}

describe('Redis connection failures', function () {
  this.timeout(30_000);
  const opened: RedisClient[] = [];
  const servers: RedisServer[] = [];
  afterEach(async () => {
    for (const c of opened.splice(0)) c.disconnect();
    await Promise.all(servers.splice(0).map((s) => s.destroy()));
  });
  const open = (url: string, options: Parameters<typeof connect>[1] = {}): RedisClient => {
    const redis = connect(url, options);
    opened.push(redis);
    return redis;
  };

  describe('describeConnectionError', () => {
    const cases: Array<[string, Error, RegExp, boolean]> = [
      [
        'a wrong password',
        new Error('WRONGPASS invalid username-password pair or user is disabled.'),
        /wrong password or user name.*REDIS_URL/,
        true,
      ],
      ['no password', new Error('Ready check failed: NOAUTH Authentication required.'), /requires a password \(NOAUTH\)/, true],
      [
        'a refused connection',
        systemError('connect ECONNREFUSED 10.0.0.1:6379', { code: 'ECONNREFUSED', address: '10.0.0.1', port: 6379 }),
        /connection refused by 10\.0\.0\.1:6379/,
        false,
      ],
      [
        'an unknown host',
        systemError('getaddrinfo ENOTFOUND cache.example', { code: 'ENOTFOUND', hostname: 'cache.example' }),
        /host name cache\.example not found/,
        false,
      ],
      [
        'an unreachable host',
        systemError('connect EHOSTUNREACH 10.9.9.9:6379', { code: 'EHOSTUNREACH', address: '10.9.9.9', port: 6379 }),
        /unreachable/,
        false,
      ],
      ['a timeout', systemError('connect ETIMEDOUT', { code: 'ETIMEDOUT' }), /timed out/, false],
      [
        'an untrusted certificate',
        systemError('unable to verify the first certificate', { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }),
        /certificate is not trusted.*REDIS_TLS_CA_FILE/,
        true,
      ],
      [
        'a self-signed certificate',
        systemError('self-signed certificate in certificate chain', { code: 'SELF_SIGNED_CERT_IN_CHAIN' }),
        /not trusted/,
        true,
      ],
      [
        'a certificate for another host',
        systemError("Hostname/IP does not match certificate's altnames", { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }),
        /not for this host/,
        true,
      ],
      ['an expired certificate', systemError('certificate has expired', { code: 'CERT_HAS_EXPIRED' }), /expired/, true],
      [
        'a missing client certificate',
        systemError('tlsv13 alert certificate required', { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' }),
        /requires a client certificate.*REDIS_TLS_CERT_FILE/,
        true,
      ],
      [
        'a TLS client on a plain port',
        systemError('wrong version number', { code: 'ERR_SSL_WRONG_VERSION_NUMBER' }),
        /does not speak TLS/,
        true,
      ],
      [
        'maxclients',
        new Error('Ready check failed: ERR max number of clients reached'),
        /max number of clients reached \(maxclients\)/,
        false,
      ],
    ];
    for (const [what, error, cause, permanent] of cases) {
      it(`names the cause of ${what}${permanent ? ', which waiting will not fix' : ''}`, () => {
        const failure = describeConnectionError(error);
        expect(failure.cause).to.match(cause);
        expect(failure.permanent).to.equal(permanent);
      });
    }

    it('finds the cause inside a cluster error', () => {
      const error = Object.assign(new Error('Failed to refresh slots cache.'), {
        lastNodeError: new Error('WRONGPASS invalid username-password pair'),
      });
      expect(describeConnectionError(error))
        .to.include({ permanent: true })
        .and.to.have.property('cause')
        .that.matches(/wrong password/);
    });
  });

  it('logs one warning per failed attempt, with the redacted URL, the attempt, the next delay and the cause', async () => {
    const port = await freePort();
    const { logger, lines } = capturingLogger();
    open(`redis://app:p@ss:w@rd@127.0.0.1:${port}`, { logger });
    await waitFor(() => lines.filter((l) => l.event === 'redis-connection-failed').length >= 3, {
      timeoutMs: 10_000,
      message: 'fewer than 3 warnings',
    });
    const warnings = lines.filter((l) => l.event === 'redis-connection-failed').slice(0, 3);
    expect(warnings.map((w) => w.attempt)).to.deep.equal([1, 2, 3]);
    for (const w of warnings) {
      expect(w.level).to.equal('warn');
      expect(w.redis).to.equal(`redis://app:***@127.0.0.1:${port}`);
      expect(w.cause).to.match(new RegExp(`connection refused by 127\\.0\\.0\\.1:${port}`));
      expect(w.retryInMs).to.be.a('number');
    }
    expect(warnings[1]!.retryInMs).to.be.above(warnings[0]!.retryInMs as number);
    expect(JSON.stringify(lines)).not.to.include('ss:w@rd');
  });

  it('logs when the connection is ready again', async () => {
    const server = await RedisServer.start();
    servers.push(server);
    const { logger, lines } = capturingLogger();
    const redis = open(server.url, { logger, name: 'watched' });
    await waitUntilConnected(redis);
    await server.restart();
    await waitFor(() => lines.some((l) => l.event === 'redis-connection-ready' && l.attempt !== undefined), {
      timeoutMs: 10_000,
      message: 'no line for the reconnection',
    });
    expect(lines.some((l) => l.event === 'redis-connection-failed')).to.equal(true);
  });

  it('names a wrong password and a missing one, and waitUntilConnected refuses at once', async () => {
    const server = await RedisServer.start({ password: 'right-one' });
    servers.push(server);
    for (const [url, cause] of [
      [`redis://:wr%40ng@127.0.0.1:${server.port}`, /wrong password/],
      [`redis://127.0.0.1:${server.port}`, /requires a password/],
    ] as const) {
      const { logger, lines } = capturingLogger();
      const redis = open(url, { logger });
      const started = Date.now();
      const error = await waitUntilConnected(redis).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(RedisConnectionError);
      expect((error as RedisConnectionError).message).to.match(cause);
      expect((error as RedisConnectionError).message).to.include(`127.0.0.1:${server.port}`);
      expect((error as RedisConnectionError).message).not.to.include('wr%40ng');
      expect(Date.now() - started).to.be.below(3000);
      await waitFor(() => lines.some((l) => l.event === 'redis-connection-failed'), { timeoutMs: 5000 });
      expect(lines.find((l) => l.event === 'redis-connection-failed')!.cause).to.match(cause);
    }
  });

  it('says so when Redis refuses a connection at maxclients', async () => {
    const server = await RedisServer.start({ maxclients: 1 });
    servers.push(server);
    const occupant = server.client();
    await occupant.ping();
    const { logger, lines } = capturingLogger();
    open(server.url, { logger });
    await waitFor(() => lines.some((l) => l.event === 'redis-connection-failed'), { timeoutMs: 10_000 });
    expect(lines.find((l) => l.event === 'redis-connection-failed')!.cause).to.match(/max number of clients reached/);
    occupant.disconnect();
  });

  it('resolves waitUntilConnected false after its timeout while Redis is unreachable', async () => {
    const redis = open(`redis://127.0.0.1:${await freePort()}`);
    const started = Date.now();
    expect(await waitUntilConnected(redis, { timeoutMs: 300 })).to.equal(false);
    expect(Date.now() - started).to.be.within(250, 2000);
    const aborted = new AbortController();
    const waiting = waitUntilConnected(redis, { signal: aborted.signal });
    aborted.abort();
    await waiting.then(
      () => expect.fail('resolved'),
      (e: unknown) => expect((e as Error).name).to.equal('AbortError'),
    );
  });

  describe('disconnect', () => {
    /**
     * Sends `command` on a client that is reconnecting, disconnects it (still reconnecting) and
     * returns what became of the command within a second: its error message, 'answered' or 'still pending'.
     */
    async function outcomeOfDisconnect(client: RedisClient, command: () => Promise<unknown>): Promise<unknown> {
      await waitFor(() => client.status === 'reconnecting', { timeoutMs: 5000 });
      const pending = command().then(
        () => 'answered',
        (e: Error) => e.message,
      );
      await waitFor(() => client.status === 'reconnecting', { timeoutMs: 5000 });
      client.disconnect();
      return Promise.race([pending, new Promise((resolve) => setTimeout(() => resolve('still pending'), 1000))]);
    }

    it('rejects the commands of a connection that never came up', async () => {
      const redis = open(`redis://127.0.0.1:${await freePort()}`);
      const outcome = await outcomeOfDisconnect(redis, () => redis.get('x'));
      expect(outcome).to.match(/Connection is closed/);
      expect(redis.status).to.equal('end');
    });

    it('rejects the commands of a cluster client that never came up', async () => {
      const redis = open(`redis+cluster://127.0.0.1:${await freePort()}`);
      const outcome = await outcomeOfDisconnect(redis, () => redis.get('x'));
      expect(outcome).to.match(/closed/i);
    });

    it('rejects a blocking read stuck behind maxclients', async () => {
      const server = await RedisServer.start({ maxclients: 1 });
      servers.push(server);
      const occupant = new Redis(server.port, '127.0.0.1');
      occupant.on('error', () => {});
      await occupant.ping();
      const blocking = open(server.url, { name: 'never-up' });
      const outcome = await outcomeOfDisconnect(blocking, () => blocking.blmove('a', 'a', 'LEFT', 'LEFT', 1));
      expect(outcome).not.to.equal('still pending');
      occupant.disconnect();
    });

    it('still closes a connected client as before', async () => {
      const server = await RedisServer.start();
      servers.push(server);
      const redis = open(server.url);
      await redis.set('k', 'v');
      redis.disconnect();
      await waitFor(() => redis.status === 'end', { timeoutMs: 5000 });
    });
  });
});
