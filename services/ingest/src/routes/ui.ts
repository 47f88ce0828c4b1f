import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import type { IngestContext } from '../context.js';
import { dashboardPage, type DashboardPage } from '../ui/page.js';

/**
 * GET /ui: the operator dashboard, one self-contained page built once at start. It needs no key
 * (it holds no data); its own calls to the JSON routes carry the key the operator enters.
 */
export async function uiRoutes(
  app: FastifyInstance,
  { context, page = dashboardPage() }: { context: IngestContext; page?: DashboardPage },
): Promise<void> {
  if (!page.chart)
    context.logger.warn("the dashboard has no chart: Chart.js could not be read from node_modules (reinstall the ingest's dependencies)");
  const html = Buffer.from(page.html, 'utf8');
  const gzipped = gzipSync(html);

  app.get(
    '/ui',
    {
      schema: {
        summary: 'The operator dashboard (an HTML page)',
        description:
          'Pipelines and partitions with rates, backlog, lag, leader and stalls, the last results and the dead letters with a redrive button, ' +
          'refreshed every 2 s from the JSON routes. The page needs no key; when API_KEYS is set it asks for one and sends it as a bearer token.',
        tags: ['dashboard'],
        response: { 200: { description: 'text/html', type: 'string' } },
      },
    },
    async (request, reply) => {
      const gzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
      reply
        .header('content-security-policy', page.csp)
        .header('x-content-type-options', 'nosniff')
        .header('x-frame-options', 'DENY')
        .header('referrer-policy', 'no-referrer')
        .header('cache-control', 'no-cache')
        .header('vary', 'accept-encoding')
        .type('text/html; charset=utf-8');
      if (gzip) reply.header('content-encoding', 'gzip');
      return reply.send(gzip ? gzipped : html);
    },
  );
  app.get('/ui/', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/ui'));
}
