import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ApiKeys } from '../auth.js';
import type { RequestError } from '../errors.js';
import type { HttpFailure } from '../replies.js';

/** Every route of the plugin answers 401, through `send`, to a request without a known key (when keys are set). */
export function requireApiKey(
  app: FastifyInstance,
  apiKeys: ApiKeys,
  send: (reply: FastifyReply, failure: HttpFailure) => FastifyReply,
): void {
  app.addHook('onRequest', async (request, reply) => {
    const refusal = apiKeys.refuse(request);
    if (refusal) return send(reply, { status: 401, message: refusal });
  });
}

/**
 * Bodies of `contentType` ('*' for any) are read as text and parsed by `parse`, whose
 * RequestError becomes the answer (a 400 naming the problem).
 */
export function readBodiesWith(app: FastifyInstance, contentType: string, parse: (text: string) => unknown): void {
  if (contentType !== '*') app.removeContentTypeParser(contentType);
  app.addContentTypeParser(contentType, { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parse(String(body)));
    } catch (error) {
      done(error as RequestError, undefined);
    }
  });
}
