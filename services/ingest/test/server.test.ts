import { expect } from 'chai';
import { RedisServer, capturingLogger } from '@inorder/testkit';
import { defaultIngestConfig } from '../src/config.js';
import { startIngest } from '../src/server.js';

describe('ingest start (startIngest)', function () {
  let server: RedisServer;

  before(async () => {
    server = await RedisServer.start();
  });
  after(async () => {
    await server.destroy();
  });

  async function startLogged(apiKeys: string[]): Promise<Array<Record<string, unknown>>> {
    const capture = capturingLogger();
    const running = await startIngest(defaultIngestConfig({ redisUrl: server.url, host: '127.0.0.1', port: 0, apiKeys }), capture.logger);
    await running.stop();
    for (const c of running.connections) c.disconnect();
    return capture.lines;
  }

  it('warns at start when authentication is off', async () => {
    const lines = await startLogged([]);
    const warning = lines.find((l) => l.level === 'warn' && /authentication is off/.test(String(l.message)));
    expect(warning, JSON.stringify(lines)).to.not.equal(undefined);
    expect(String(warning!.message)).to.contain('API_KEYS');
  });

  it('does not warn when API_KEYS is set', async () => {
    const lines = await startLogged(['a-key-of-12345']);
    expect(lines.filter((l) => /authentication/.test(String(l.message)))).to.deep.equal([]);
  });
});
