import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { keysFor, type RedisClient } from '@inorder/shared';
import { RedisServer, ROOT, runScript, toolSource } from '@inorder/testkit';
import { connectOnce } from '../src/lib/connection.js';
import { checkSeqs, verifyPipeline } from '../src/lib/verify.js';

const out = (seq: number): string =>
  JSON.stringify({ seq, result: {}, createdAt: 1, processingAt: 2, processedAt: 3, sequencingAt: 4, sequencedAt: 5 });
const dead = (seq: number): string => JSON.stringify({ seq, reason: 'max-retries', attempts: 4, deadAt: 6 });

describe('verify', function () {
  describe('checkSeqs', () => {
    it('passes output, dead letters and skips that account for every seq once, in order', () => {
      const r = checkSeqs({ output: [1, 2, 4, 6], dead: [3], skipped: [5] }, { from: 1, to: 6 });
      expect(r).to.include({ ok: true, sent: 6, output: 4, deadLettered: 1, skipped: 1, missing: 0, duplicates: 0, orderViolations: 0 });
    });

    it('counts a gap, a duplicate and an inversion', () => {
      const r = checkSeqs({ output: [1, 2, 4, 3, 5, 5], dead: [], skipped: [] }, [1, 2, 3, 4, 5, 6, 7]);
      expect(r.ok).to.equal(false);
      expect(r.missingSeqs).to.deep.equal([6, 7]);
      expect(r.duplicateSeqs).to.deep.equal([5]);
      // 3 after 4, and the second 5 after 5
      expect(r.orderViolations).to.equal(2);
      expect(r.orderViolationSamples[0]).to.deep.equal({ index: 3, seq: 3, previous: 4 });
    });

    it('counts a seq both output and dead-lettered as a duplicate', () => {
      const r = checkSeqs({ output: [1, 2], dead: [2], skipped: [] }, { from: 1, to: 2 });
      expect(r).to.include({ ok: false, duplicates: 1, missing: 0 });
    });

    it('reports seqs outside the range without failing, and fails on unreadable entries', () => {
      expect(checkSeqs({ output: [1, 2, 3], dead: [], skipped: [] }, { from: 2, to: 3 })).to.include({ ok: true, unexpected: 1 });
      expect(checkSeqs({ output: [1, undefined], dead: [], skipped: [] }, { from: 1, to: 1 })).to.include({ ok: false, unreadable: 1 });
    });
  });

  describe('against Redis', function () {
    let server: RedisServer;
    let redis: RedisClient;

    before(async () => {
      server = await RedisServer.start();
      redis = await connectOnce(server.url);
    });
    after(async () => {
      redis?.disconnect();
      await server?.destroy();
    });

    async function build(output: number[], deadSeqs: number[], skipped: number[]): Promise<string> {
      const pipeline = `v-${randomBytes(3).toString('hex')}`;
      const k = keysFor(pipeline, 0);
      if (output.length) await redis.rpush(k.output, ...output.map(out));
      if (deadSeqs.length) await redis.rpush(k.dead, ...deadSeqs.map(dead));
      for (const s of skipped) await redis.zadd(k.skipped, 7, String(s));
      return pipeline;
    }

    it('verifies a complete, ordered pipeline', async () => {
      const pipeline = await build([1, 2, 3, 5], [4], [6]);
      const r = await verifyPipeline(redis, { pipeline, expected: { from: 1, to: 6 } });
      expect(r).to.include({ ok: true, sent: 6, output: 4, deadLettered: 1, skipped: 1, missing: 0, duplicates: 0, orderViolations: 0 });
    });

    it('finds a gap, a duplicate and an inversion in hand-built lists', async () => {
      // 3 missing, 5 twice (output and dead letters), 7 before 6
      const pipeline = await build([1, 2, 4, 5, 7, 6], [5], []);
      const r = await verifyPipeline(redis, { pipeline, expected: { from: 1, to: 7 } });
      expect(r).to.include({ ok: false, missing: 1, duplicates: 1, orderViolations: 1 });
      expect(r.missingSeqs).to.deep.equal([3]);
      expect(r.duplicateSeqs).to.deep.equal([5]);
    });

    it('reads a dead letter of a malformed entry by the seq in its raw input', async () => {
      const pipeline = await build([1], [], []);
      await redis.rpush(keysFor(pipeline, 0).dead, JSON.stringify({ reason: 'malformed', raw: '{"seq":2,"payload":1}', deadAt: 1 }));
      const r = await verifyPipeline(redis, { pipeline, expected: { from: 1, to: 2 } });
      expect(r).to.include({ ok: true, deadLettered: 1 });
    });

    it('npm run verify exits 0 on a clean pipeline and 1 on a broken one, with --json as the last line', async () => {
      const good = await build([1, 2, 3], [], []);
      const bad = await build([1, 3, 2, 2], [], []);
      const [ok, broken] = await Promise.all([
        runScript('verify', ['--pipeline', good, '--from', '1', '--to', '3', '--redis-url', server.url, '--json']),
        runScript('verify', ['--pipeline', bad, '--from', '1', '--to', '4', '--redis-url', server.url, '--json']),
      ]);
      expect(ok.code, ok.stderr).to.equal(0);
      expect(ok.json).to.include({ ok: true, missing: 0 });
      expect(broken.code).to.equal(1);
      expect(broken.json).to.include({ ok: false, missing: 1, duplicates: 1, orderViolations: 2 });
    });

    it('npm run verify exits 2 without --to', () => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=@inorder/source', toolSource('verify'), '--pipeline', 'x'], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      expect(r.status).to.equal(2);
      expect(r.stderr).to.match(/--to is required/);
    });
  });
});
