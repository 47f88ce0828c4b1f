import { expect } from 'chai';
import {
  PipelineConflictError,
  RegistryEntryError,
  RegistryFullError,
  getPipeline,
  listPipelines,
  registerPipeline,
  registryKey,
} from '@inorder/shared';
import { rejectionOf, uniquePipeline, useRedis } from '@inorder/testkit';

describe('pipeline registry', function () {
  const fixture = useRedis();
  // A prefix per test: a registry of its own, nothing to flush.
  const prefix = (): string => uniquePipeline('reg');

  it('lists every readable pipeline and reports the unreadable entries it skipped', async () => {
    const p = prefix();
    await registerPipeline(fixture.redis, 'good', { ordering: 'strict', partitions: 2 }, p, 1000);
    await fixture.redis.hset(registryKey(p), 'not-json', '{ordering', 'bad-schema', '{"ordering":"sorted","createdAt":1}');
    const list = await listPipelines(fixture.redis, p);
    expect([...list.entries()]).to.deep.equal([['good', { ordering: 'strict', partitions: 2, createdAt: 1000 }]]);
    expect(list.skipped.map((s) => s.pipeline)).to.have.members(['not-json', 'bad-schema']);
    expect(list.skipped.find((s) => s.pipeline === 'not-json')!.reason).to.match(/^not JSON/);
    expect(list.skipped.find((s) => s.pipeline === 'bad-schema')!.reason).to.match(/ordering/);
  });

  it('throws RegistryEntryError naming the pipeline when its own entry is unreadable', async () => {
    const p = prefix();
    await fixture.redis.hset(registryKey(p), 'broken', 'not json');
    const error = await rejectionOf(getPipeline(fixture.redis, 'broken', p));
    expect(error).to.be.instanceOf(RegistryEntryError);
    expect(error.message).to.match(
      /^pipeline broken: its registry entry .* cannot be read: not JSON .*; fix or delete the registry entry$/,
    );
    expect(await rejectionOf(registerPipeline(fixture.redis, 'broken', { ordering: 'none' }, p))).to.be.instanceOf(RegistryEntryError);
  });

  describe('with maxPipelines (register.lua)', () => {
    it('creates a pipeline while the registry holds fewer than the limit, then refuses new ones', async () => {
      const p = prefix();
      expect(await registerPipeline(fixture.redis, 'a', { ordering: 'none' }, p, 5, { maxPipelines: 2 })).to.deep.equal({
        settings: { ordering: 'none', partitions: 1, createdAt: 5 },
        created: true,
      });
      await registerPipeline(fixture.redis, 'b', { ordering: 'none' }, p, 5, { maxPipelines: 2 });
      const error = await rejectionOf(registerPipeline(fixture.redis, 'c', { ordering: 'none' }, p, 5, { maxPipelines: 2 }));
      expect(error).to.be.instanceOf(RegistryFullError);
      expect(error).to.include({ pipeline: 'c', count: 2, maxPipelines: 2 });
      expect(await fixture.redis.hkeys(registryKey(p))).to.have.members(['a', 'b']);
      // An existing pipeline is found, full registry or not; another ordering is still a conflict.
      expect(await registerPipeline(fixture.redis, 'a', { ordering: 'none' }, p, 9, { maxPipelines: 2 })).to.deep.equal({
        settings: { ordering: 'none', partitions: 1, createdAt: 5 },
        created: false,
      });
      expect(await rejectionOf(registerPipeline(fixture.redis, 'b', { ordering: 'strict' }, p, 9, { maxPipelines: 2 }))).to.be.instanceOf(
        PipelineConflictError,
      );
    });

    it('checks and creates in one step: concurrent registrations never pass the limit', async () => {
      const p = prefix();
      const results = await Promise.allSettled(
        Array.from({ length: 30 }, (_, i) => registerPipeline(fixture.redis, `p${i}`, { ordering: 'none' }, p, 1, { maxPipelines: 7 })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(7);
      expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof RegistryFullError)).to.have.length(23);
      expect(await fixture.redis.hlen(registryKey(p))).to.equal(7);
    });
  });
});
