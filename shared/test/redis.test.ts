import { expect } from 'chai';
import { ConfigError, isClusterUrl, loadProcessorConfig, parseClusterUrl, redactRedisUrl, redisUrlProblem } from '@inorder/shared';

describe('redis URLs', () => {
  it('reads the seeds, TLS and credentials of a cluster URL', () => {
    expect(parseClusterUrl('rediss+cluster://app:p%40ss@clustercfg.example.cache.amazonaws.com:6379')).to.deep.equal({
      seeds: [{ host: 'clustercfg.example.cache.amazonaws.com', port: 6379 }],
      tls: true,
      username: 'app',
      password: 'p@ss',
    });
    expect(parseClusterUrl('redis+cluster://:secret@10.0.0.1:7000,10.0.0.2:7001,node-3')).to.deep.equal({
      seeds: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: 'node-3', port: 6379 },
      ],
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
    expect(loadProcessorConfig({ REDIS_URL: 'rediss+cluster://:pw@cfg.example:6379' }).redisUrl).to.equal(
      'rediss+cluster://:pw@cfg.example:6379',
    );
    expect(() => loadProcessorConfig({ REDIS_URL: 'redis+cluster://a:7000/1' })).to.throw(ConfigError, /REDIS_URL/);
  });
});

describe('redactRedisUrl', () => {
  const cases: Array<[string, string]> = [
    ['redis://user:p@ss@cache.example:6379/0', 'redis://user:***@cache.example:6379/0'],
    ['redis://:pa/ss@cache.example:6379', 'redis://:***@cache.example:6379'],
    ['redis://:a:b:c@cache.example', 'redis://:***@cache.example'],
    ['redis://:p#ss@cache.example:6379/2', 'redis://:***@cache.example:6379/2'],
    ['redis://:p?ss@cache.example:6379', 'redis://:***@cache.example:6379'],
    ['redis://:p%40ss@cache.example:6379', 'redis://:***@cache.example:6379'],
    ['rediss://app:s3@cr/t:x#y@cache.example:6380', 'rediss://app:***@cache.example:6380'],
    ['redis+cluster://:s3cr@t@10.0.0.1:7000,10.0.0.2:7001', 'redis+cluster://:***@10.0.0.1:7000,10.0.0.2:7001'],
    ['rediss+cluster://app:p%2Fw@cfg.example:6379', 'rediss+cluster://app:***@cfg.example:6379'],
    ['redis://onlysecret@cache.example:6379', 'redis://***@cache.example:6379'],
    ['redis://cache.example:6379/1', 'redis://cache.example:6379/1'],
    ['redis+cluster://a:1,b:2', 'redis+cluster://a:1,b:2'],
    ['redis://cache.example:6379?password=hunter2&db=1', 'redis://cache.example:6379?password=***&db=1'],
    [':hunter2@cache.example:6379', ':***@cache.example:6379'],
  ];
  for (const [url, shown] of cases) {
    it(`shows ${JSON.stringify(url)} as ${JSON.stringify(shown)}`, () => {
      expect(redactRedisUrl(url)).to.equal(shown);
    });
  }

  it('never shows any part of a hostile password', () => {
    const passwords = ['p@ss', 'a/b@c', 'x:y:z', 'h#sh', 'q?uery', 'pct%40enc', '@@@', 'end@', '/lead', 'sp ace', 'ünï'];
    for (const password of passwords) {
      for (const template of ['redis://user:PW@h:1/0', 'redis://:PW@h:1', 'rediss+cluster://u:PW@h:1,i:2', 'redis+cluster://:PW@h:1']) {
        const url = template.replace('PW', password);
        const shown = redactRedisUrl(url);
        expect(shown, url).not.to.include(password);
        expect(shown, url).to.match(/\*\*\*@h:1/);
      }
    }
  });
});
