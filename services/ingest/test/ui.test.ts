import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { Script } from 'node:vm';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { keysFor, makeEnvelope, registerPipeline, type Handler } from '@inorder/shared';
import { CHROMIUM_ARGS, CHROMIUM_PATH, TestPipeline, waitFor } from '@inorder/testkit';
import { newPipeline, TestIngest, useIngest } from './support/ingest.js';
import { dashboardPage } from '../src/ui/page.js';

/** A browser tab on the dashboard that refuses, and records, any request that leaves the ingest. */
interface Tab {
  context: BrowserContext;
  page: Page;
  /** requests to anywhere but the ingest under test */
  offsite: string[];
  /** uncaught exceptions and console errors (a script the page's CSP blocks lands here) */
  errors: string[];
  /** the headers of every API request the page sent */
  apiRequests: Array<{ url: string; authorization: string | undefined }>;
}

async function openTab(browser: Browser, ingest: TestIngest): Promise<Tab> {
  const context = await browser.newContext({ locale: 'en-US' });
  const tab: Tab = { context, page: await context.newPage(), offsite: [], errors: [], apiRequests: [] };
  const origin = new URL(ingest.url).origin;
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin) return route.continue();
    tab.offsite.push(url);
    return route.abort();
  });
  tab.page.on('request', (r) => {
    if (new URL(r.url()).origin !== origin) tab.offsite.push(r.url());
    else if (new URL(r.url()).pathname !== '/ui') tab.apiRequests.push({ url: r.url(), authorization: r.headers().authorization });
  });
  tab.page.on('pageerror', (e) => tab.errors.push(e.message));
  tab.page.on('console', (m) => {
    if (m.type() === 'error') tab.errors.push(m.text());
  });
  await tab.page.goto(`${ingest.url}/ui`);
  return tab;
}

/** A number as the page prints it (thousands separators), NaN for "–". */
const figure = (text: string | null): number => Number((text ?? '').replace(/,/g, ''));
const row = (id: string): string => `#partitions tr[data-partition="${id}"]`;
const cell = (id: string, field: string): string => `${row(id)} td[data-field="${field}"]`;

describe('dashboard (GET /ui)', function () {
  this.timeout(120_000);
  let browser: Browser | undefined;
  const tabs: Tab[] = [];
  // Registered before the fixture's, so it runs first: the tabs stop polling before the ingest closes.
  after(async () => {
    for (const tab of tabs) await tab.context.close();
    await browser?.close();
  });
  const fixture = useIngest();

  /** Launches Chromium once; skips the test, saying why, when it is not installed. */
  async function launch(test: Mocha.Context): Promise<Browser> {
    if (!existsSync(CHROMIUM_PATH)) {
      console.log(`      skipped: ${CHROMIUM_PATH} is missing (Debian package chromium; .ci/run installs it)`);
      test.skip();
    }
    browser ??= await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] });
    return browser;
  }

  async function open(target: TestIngest, test: Mocha.Context): Promise<Tab> {
    const tab = await openTab(await launch(test), target);
    tabs.push(tab);
    return tab;
  }

  it('serves one self-contained page without a key: Chart.js inlined, nothing to fetch, a strict CSP, gzip when asked', async () => {
    const secured = await TestIngest.start(fixture.server, { apiKeys: ['ui-key-12345'] });
    try {
      const plain = await secured.get('/ui', { 'accept-encoding': 'identity' });
      expect(plain.status).to.equal(200);
      expect(plain.headers.get('content-type')).to.equal('text/html; charset=utf-8');
      expect(plain.headers.get('content-encoding')).to.equal(null);
      expect(plain.text).to.include('Chart.js v4');
      expect(plain.text).not.to.match(/<(script|img|iframe|audio|video|source)\b[^>]*\bsrc=/i);
      expect(plain.text).not.to.match(/<link\b/i);
      expect(plain.text).not.to.match(/@import|url\(\s*['"]?https?:/i);
      const csp = plain.headers.get('content-security-policy')!;
      expect(csp).to.include("default-src 'none'").and.include("connect-src 'self'").and.include("frame-ancestors 'none'");
      expect(csp.match(/'sha256-/g)).to.have.length(2);
      const zipped = await secured.get('/ui', { 'accept-encoding': 'gzip' });
      expect(zipped.headers.get('content-encoding')).to.equal('gzip');
      expect(zipped.text).to.equal(plain.text);
      const slash = await fetch(`${secured.url}/ui/`, { redirect: 'manual' });
      expect([slash.status, slash.headers.get('location')]).to.deep.equal([302, '/ui']);
      // The data routes still want a key.
      expect((await secured.get('/v1/pipelines')).status).to.equal(401);
    } finally {
      await secured.close();
    }
  });

  it('builds a page whose script compiles, and without Chart.js a page that says so instead of its chart', () => {
    const page = dashboardPage(null);
    expect(page.chart).to.equal(false);
    const scripts = [...page.html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    expect(scripts).to.have.length(1);
    expect(() => new Script(scripts[0]!)).not.to.throw();
    expect(page.html).to.include('id="no-chart"');
    expect(page.csp.match(/'sha256-/g)).to.have.length(1);
  });

  it("shows a running pipeline's figures changing, and redrives a dead letter at the click of its button", async function () {
    await launch(this);
    let poisoned = true;
    const handler: Handler = (payload) => {
      const p = payload as { n?: number; poison?: boolean };
      if (p.poison && poisoned) throw new Error('poisoned payload refused');
      return { ok: p.n ?? 'healed' };
    };
    const pipeline = new TestPipeline(fixture.server);
    try {
      await registerPipeline(fixture.redis, pipeline.name, { ordering: 'strict' });
      await pipeline.processor(handler, { maxRetries: 1 });
      await pipeline.sequencer();
      const path = `/v1/pipelines/${pipeline.name}/messages`;
      // Over a thousand first, so the page has thousands separators to print.
      for (let b = 0; b < 2; b++) {
        const batch = Array.from({ length: 600 }, (_, i) => ({ payload: { n: b * 600 + i } }));
        expect((await fixture.ingest.post(path, batch)).status).to.equal(202);
      }
      let producing = true;
      const producer = (async () => {
        for (let n = 0; producing; n++) {
          await fixture.ingest.post(
            path,
            Array.from({ length: 5 }, (_, i) => ({ payload: { n: 10_000 + n * 5 + i } })),
          );
          await new Promise((r) => setTimeout(r, 100));
        }
      })();

      const tab = await open(fixture.ingest, this);
      const { page } = tab;
      const id = `${pipeline.name} #0`;
      await page.locator(row(id)).waitFor({ timeout: 15_000 });
      const first = figure(await page.locator(cell(id, 'emitted')).textContent());
      await waitFor(async () => figure(await page.locator(cell(id, 'emitted')).textContent()) > first, {
        timeoutMs: 15_000,
        message: 'emitted did not move',
      });
      await waitFor(async () => figure(await page.locator(cell(id, 'emittedRate')).textContent()) > 0, {
        timeoutMs: 15_000,
        message: 'no emitted/s',
      });
      expect(await page.locator(cell(id, 'emitted')).textContent()).to.match(/^\d{1,3}(,\d{3})+$/);
      expect(await page.locator(cell(id, 'lease')).textContent()).to.equal('held');
      expect(await page.locator(cell(id, 'leader')).textContent()).to.match(/^s0-/);
      expect(await page.locator(cell(id, 'status')).textContent()).to.match(/moving|idle/);
      await waitFor(async () => (await page.evaluate<number>('Object.values(Chart.instances)[0].data.datasets[0].data.length')) >= 2, {
        timeoutMs: 15_000,
        message: 'the rate chart has no points',
      });
      expect(await page.locator('#detail-title').textContent()).to.equal(`${pipeline.name} · partition 0`);
      expect(await page.locator('#results tbody tr').count()).to.equal(20);
      producing = false;
      await producer;

      // A message that fails every attempt while poisoned: dead-lettered, then shown in red with its reason.
      const sent = await fixture.ingest.post(path, { payload: { poison: true } });
      const seq = sent.json.seqs[0] as number;
      const deadRow = page.locator(`#dead tr[data-dead-seq="${seq}"]`);
      await deadRow.waitFor({ timeout: 20_000 });
      expect(await deadRow.locator('td').nth(1).textContent()).to.equal('max-retries');
      expect(await deadRow.locator('td').nth(3).textContent()).to.equal('poisoned payload refused');
      await waitFor(async () => figure(await page.locator(cell(id, 'deadLetters')).textContent()) === 1, {
        timeoutMs: 10_000,
        message: 'dead letters not counted',
      });
      expect(await page.locator(cell(id, 'deadLetters')).getAttribute('class')).to.include('bad');

      poisoned = false;
      await page.locator(`#dead button[data-redrive="${seq}"]`).click();
      await deadRow.waitFor({ state: 'detached', timeout: 15_000 });
      expect(await page.locator('#redrive-note').textContent()).to.match(new RegExp(`^Seq ${seq} redriven as seq \\d+\\.$`));
      // The message comes out again, under a new seq that remembers the first.
      const again = await waitFor(async () => (await pipeline.output()).find((e) => (e as { originalSeq?: number }).originalSeq === seq), {
        timeoutMs: 15_000,
        message: 'the redriven message did not come out',
      });
      expect(again.result).to.deep.equal({ ok: 'healed' });
      await page.locator(`#results tr[data-seq="${again.seq}"]`).waitFor({ timeout: 10_000 });
      expect(await page.locator(`#results tr[data-seq="${again.seq}"] td`).nth(1).textContent()).to.equal(String(seq));
      expect(await fixture.redis.llen(pipeline.partition.keys.dead)).to.equal(0);
      expect(tab.offsite).to.deep.equal([]);
      expect(tab.errors).to.deep.equal([]);
    } finally {
      await pipeline.close();
    }
  });

  it('marks a stalled partition red with its reason', async function () {
    await launch(this);
    const pipeline = await newPipeline(fixture.redis, 'strict', 'stall');
    const k = keysFor(pipeline, 0);
    await fixture.ingest.post(`/v1/pipelines/${pipeline}/messages`, [{ payload: 1 }, { payload: 2 }]);
    const tab = await open(fixture.ingest, this);
    const id = `${pipeline} #0`;
    await tab.page.locator(row(id)).waitFor({ timeout: 15_000 });
    // Work waits and no sequencer holds the lease.
    expect(await tab.page.locator(row(id)).getAttribute('class')).to.include('stalled');
    expect(await tab.page.locator(cell(id, 'status')).textContent()).to.match(/^STALLEDno sequencer holds the leader lease/);
    expect(await tab.page.locator(cell(id, 'lag')).textContent()).to.equal('2');
    await fixture.redis.set(k.leader, 'lock', 'PX', 60_000);
    await fixture.redis.hset(
      k.meta,
      'fence',
      'seq-a:3',
      'stall',
      JSON.stringify({ seq: 1, reason: 'waiting for seq 1: no processor knows it', at: Date.now() }),
    );
    await waitFor(
      async () => /waiting for seq 1: no processor knows it/.test((await tab.page.locator(cell(id, 'status')).textContent()) ?? ''),
      {
        timeoutMs: 10_000,
        message: 'the stall reason is not shown',
      },
    );
    expect(await tab.page.locator(cell(id, 'epoch')).textContent()).to.equal('3');
    expect(tab.offsite).to.deep.equal([]);
  });

  it('asks for the new seq before redriving on a partition whose producers number their seqs', async function () {
    await launch(this);
    const pipeline = await newPipeline(fixture.redis, 'strict', 'given');
    await fixture.ingest.post(`/v1/pipelines/${pipeline}/messages`, [{ seq: 1, payload: { n: 1 } }]);
    const k = keysFor(pipeline, 0);
    await fixture.redis.del(k.input);
    await fixture.redis.rpush(
      k.dead,
      JSON.stringify({
        seq: 1,
        reason: 'max-age',
        attempts: 2,
        lastError: 'too old',
        deadAt: Date.now(),
        envelope: makeEnvelope({ seq: 1, payload: { n: 1 } }),
      }),
    );
    // Entries written into the lists by hand are shown as unreadable, and break nothing.
    await fixture.redis.rpush(k.dead, 'null', '42', 'not json');
    await fixture.redis.rpush(k.output, 'null', '[1]');
    const tab = await open(fixture.ingest, this);
    const { page } = tab;
    const id = `${pipeline} #0`;
    await page.locator(row(id)).click();
    await page.locator('#detail-title', { hasText: pipeline }).waitFor({ timeout: 15_000 });
    const deadRow = page.locator('#dead tr[data-dead-seq="1"]');
    await deadRow.waitFor({ timeout: 10_000 });
    expect(await page.locator('#dead tbody tr').count()).to.equal(4);
    expect(await page.locator('#dead tbody tr td.text').allTextContents()).to.include.members(['null', '42', 'not json']);
    expect(await page.locator('#results tbody tr').count()).to.equal(2);
    await deadRow.locator('button').click();
    expect(await page.locator('#redrive-note').textContent()).to.match(/^Give the new seq for seq 1/);
    expect(await fixture.redis.llen(k.dead)).to.equal(4);
    await deadRow.locator('input.new-seq').fill('50');
    await deadRow.locator('button').click();
    await deadRow.waitFor({ state: 'detached', timeout: 10_000 });
    expect(JSON.parse((await fixture.redis.lrange(k.input, 0, -1))[0]!)).to.deep.include({ seq: 50, originalSeq: 1 });
    expect(tab.errors).to.deep.equal([]);
  });

  it('asks for an API key when keys are set, keeps it for the tab and sends it as a bearer token', async function () {
    await launch(this);
    const secured = await TestIngest.start(fixture.server, { apiKeys: ['ui-key-12345', 'other-key-12345'] });
    try {
      const pipeline = await newPipeline(fixture.redis, 'strict', 'keyed');
      const tab = await open(secured, this);
      const { page } = tab;
      await page.locator('#key-panel').waitFor({ state: 'visible', timeout: 15_000 });
      expect(await page.locator('#key-message').textContent()).to.equal('This ingest requires an API key to show its pipelines.');
      expect(await page.locator('#overview').isHidden()).to.equal(true);
      expect(await page.locator('#connection').textContent()).to.equal('API key required');

      await page.locator('#key-input').fill('wrong-key-12345');
      await page.locator('#key-form button').click();
      await page.locator('#key-message', { hasText: 'did not accept that key' }).waitFor({ timeout: 10_000 });
      expect(await page.locator('#key-panel').isVisible()).to.equal(true);

      await page.locator('#key-input').fill('ui-key-12345');
      await page.locator('#key-form button').click();
      await page.locator(row(`${pipeline} #0`)).waitFor({ timeout: 15_000 });
      expect(await page.locator('#key-panel').isHidden()).to.equal(true);
      expect(await page.evaluate('sessionStorage.getItem("inorder.apiKey")')).to.equal('ui-key-12345');
      const after = tab.apiRequests.filter((r) => r.authorization === 'Bearer ui-key-12345');
      expect(after.length).to.be.above(0);
      expect(tab.apiRequests.every((r) => r.authorization === undefined || /^Bearer (wrong|ui)-key-12345$/.test(r.authorization))).to.equal(
        true,
      );

      // A reload in the same tab keeps the key: no prompt.
      await page.reload();
      await page.locator(row(`${pipeline} #0`)).waitFor({ timeout: 15_000 });
      expect(await page.locator('#key-panel').isHidden()).to.equal(true);

      // Forgetting it brings the prompt back.
      await page.locator('#forget-key').click();
      await page.locator('#key-panel').waitFor({ state: 'visible', timeout: 10_000 });
      expect(await page.evaluate('sessionStorage.getItem("inorder.apiKey")')).to.equal(null);
      expect(tab.offsite).to.deep.equal([]);
      expect(tab.errors.filter((e) => !/401/.test(e))).to.deep.equal([]);
    } finally {
      await secured.close();
    }
  });
});
