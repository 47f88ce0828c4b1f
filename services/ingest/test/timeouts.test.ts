import { connect as connectTcp, type Socket } from 'node:net';
import { expect } from 'chai';
import { waitFor } from '@inorder/testkit';
import { newPipeline, useIngest } from './support/ingest.js';

/**
 * A raw client that sends `head`, then one byte per second for as long as the server keeps the
 * socket open; resolves with how long that was, and what the server answered.
 */
async function slowDrip(url: string, head: string, drip: string): Promise<{ heldMs: number; answer: string }> {
  const { hostname, port } = new URL(url);
  const socket: Socket = connectTcp({ host: hostname, port: Number(port) });
  socket.on('error', () => {});
  let answer = '';
  socket.on('data', (chunk) => {
    answer += chunk.toString();
  });
  await new Promise((resolve) => socket.once('connect', resolve));
  const started = Date.now();
  socket.write(head);
  let i = 0;
  const timer = setInterval(() => {
    if (!socket.destroyed) socket.write(drip[i++ % drip.length]!);
  }, 1000);
  try {
    await waitFor(() => socket.destroyed || socket.readableEnded, {
      timeoutMs: 12_000,
      intervalMs: 50,
      message: 'the slow client is still connected',
    });
  } finally {
    clearInterval(timer);
    socket.destroy();
  }
  return { heldMs: Date.now() - started, answer };
}

describe('ingest HTTP server: slow clients', function () {
  this.timeout(40_000);
  const fixture = useIngest({ requestTimeoutMs: 3000, headersTimeoutMs: 2000 });

  it('cuts a client that drips its headers one byte a second once HEADERS_TIMEOUT_MS has passed', async () => {
    const { heldMs, answer } = await slowDrip(
      fixture.ingest.url,
      'GET /healthz HTTP/1.1\r\nHost: x\r\n',
      'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    );
    expect(heldMs).to.be.within(1500, 3500);
    expect(answer).to.match(/^HTTP\/1\.1 408/);
  });

  it('cuts a client that drips its body one byte a second once REQUEST_TIMEOUT_MS has passed', async () => {
    const pipeline = await newPipeline(fixture.redis);
    const head = `POST /v1/pipelines/${pipeline}/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"payload":"`;
    const { heldMs } = await slowDrip(fixture.ingest.url, head, 'a');
    expect(heldMs).to.be.within(2500, 4500);
  });
});
