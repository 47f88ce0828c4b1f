import { expect } from 'chai';
import { ConfigError, isClusterUrl, loadProcessorConfig, parseClusterUrl, redisUrlProblem } from '@inorder/shared';

describe('redis URLs', () => {
  it('reads the seeds, TLS and credentials of a cluster URL', () => {
    expect(parseClusterUrl('rediss+cluster://app:p%40ss@clustercfg.example.cache.amazonaws.com:6379')).to.deep.equal({
      seeds: [{ host: 'clustercfg.example.cache.amazonaws.com', port: 6379 }],
      tls: true,
      username: 'app',
      password: 'p@ss',
    });
    expect(parseClusterUrl('redis+cluster://:secret@10.0.0.1:7000,10.0.0.2:7001,node-3')).to.deep.equal({
      seeds: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }, { host: 'node-3', port: 6379 }],
      tls: false,
      username: undefined,
      password: 'secret',
    });
  });

  it('tells cluster URLs from single-node ones', () => {
    expect(isClusterUrl('redis+cluster://a:1')).to.equal(true);
    expect(isClusterUrl('rediss+cluster://a:1')).to.equal(true);
    expect(isClusterUrl('rediss://a:1')).to.equal(false);
  });

  it('refuses a cluster URL with a database, a bad port or no host', () => {
    expect(redisUrlProblem('redis+cluster://a:7000/2')).to.match(/without a \/db path/);
    expect(redisUrlProblem('redis+cluster://a:notaport')).to.match(/seed node "a:notaport"/);
    expect(redisUrlProblem('redis+cluster://')).to.match(/must be redis\+cluster:\/\//);
    expect(redisUrlProblem('http://x')).to.match(/must start with redis:\/\//);
    expect(redisUrlProblem('rediss://u:p@host:6380/2')).to.equal(undefined);
  });

  it('accepts a cluster URL as REDIS_URL and refuses a malformed one', () => {
    expect(loadProcessorConfig({ REDIS_URL: 'rediss+cluster://:pw@cfg.example:6379' }).redisUrl).to.equal('rediss+cluster://:pw@cfg.example:6379');
    expect(() => loadProcessorConfig({ REDIS_URL: 'redis+cluster://a:7000/1' })).to.throw(ConfigError, /REDIS_URL/);
  });
});
