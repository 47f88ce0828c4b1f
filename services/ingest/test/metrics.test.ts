import { expect } from 'chai';
import { histogramCount, metricValue, scrapeMetrics } from '@inorder/testkit';
import { newPipeline, useIngest } from './support/ingest.js';

describe('ingest /metrics', function () {
  const fixture = useIngest({ apiKeys: ['secret-key-1234567890'] });

  it('counts requests by route pattern and status, and messages by pipeline, partition and outcome; open like /healthz', async () => {
    const pipeline = await newPipeline(fixture.redis, 'strict', 'metrics', 2);
    const auth = { authorization: 'Bearer secret-key-1234567890' };
    const path = `/v1/pipelines/${pipeline}/messages`;
    expect((await fixture.ingest.post(`${path}?partition=1`, [{ payload: 1, id: 'a' }, { payload: 2 }], auth)).status).to.equal(202);
    expect((await fixture.ingest.post(`${path}?partition=1`, [{ payload: 1, id: 'a' }, { payload: 3 }], auth)).status).to.equal(202);
    expect((await fixture.ingest.post(path, { payload: 1, seq: 0 }, auth)).status).to.equal(400);
    expect((await fixture.ingest.post(path, { payload: 1 })).status).to.equal(401);
    expect((await fixture.ingest.get('/no/such/path/123')).status).to.equal(404);

    const scraped = await scrapeMetrics(`${fixture.ingest.url}/metrics`);
    const { text } = scraped;
    const route = '/v1/pipelines/:pipeline/messages';
    expect(metricValue(scraped, 'inorder_http_requests_total', { method: 'POST', route, status: '202' })).to.equal(2);
    expect(metricValue(scraped, 'inorder_http_requests_total', { method: 'POST', route, status: '400' })).to.equal(1);
    expect(metricValue(scraped, 'inorder_http_requests_total', { method: 'POST', route, status: '401' })).to.equal(1);
    // An unknown path is one label value, whatever the URL: the label set stays bounded.
    expect(metricValue(scraped, 'inorder_http_requests_total', { method: 'GET', route: '(no route)', status: '404' })).to.equal(1);
    expect(text).not.to.contain('/no/such/path');
    expect(metricValue(scraped, 'inorder_messages_submitted_total', { pipeline, partition: '1', outcome: 'enqueued' })).to.equal(3);
    expect(metricValue(scraped, 'inorder_messages_submitted_total', { pipeline, partition: '1', outcome: 'duplicate' })).to.equal(1);
    expect(histogramCount(text, 'inorder_http_request_duration_seconds', { method: 'POST', route })).to.equal(4);
    expect(text).to.contain('inorder_ingest_process_cpu_seconds_total');
  });
});
