import { DEFAULT_PAGE, MAX_PAGE } from '../params.js';
import { redriveBody } from '../reads.js';
import { jsonSchema } from '../schemas.js';

/** OpenAPI descriptions of the read routes' parameters and answers (documentation only: the handlers validate). */

const pageQueryDoc = {
  from: {
    type: 'string',
    pattern: '^(0|[1-9][0-9]*)$',
    default: '0',
    description: 'position of the first entry to read (0 = the head of the list)',
  },
  limit: { type: 'string', pattern: '^[1-9][0-9]*$', default: String(DEFAULT_PAGE), description: `entries to read, 1 to ${MAX_PAGE}` },
};

const timestamps = {
  createdAt: { type: 'integer' },
  processingAt: { type: 'integer' },
  processedAt: { type: 'integer' },
  sequencingAt: { type: 'integer' },
  sequencedAt: { type: 'integer' },
};

const outputEntryDoc = {
  type: 'object',
  description: "an output envelope: the message, the handler's result and its five timestamps (epoch ms)",
  properties: {
    seq: { type: 'integer' },
    payload: {},
    result: {},
    attempts: { type: 'integer' },
    originalSeq: { type: 'integer', description: 'set on a redriven dead letter: the seq it first had' },
    ...timestamps,
  },
  additionalProperties: true,
};

const deadLetterDoc = {
  type: 'object',
  description: 'a dead-letter record',
  properties: {
    seq: { type: 'integer', description: 'the seq it settles (the order moved past it)' },
    readSeq: { type: 'integer', description: 'a copy that did not take its seq (late, conflict, unreadable as that seq): the seq it read' },
    reason: { type: 'string', enum: ['max-retries', 'max-age', 'malformed', 'late', 'conflict'] },
    attempts: { type: 'integer' },
    lastError: { type: 'string' },
    envelope: { type: 'object', additionalProperties: true },
    raw: { type: 'string', description: 'the entry as it was read, when it was not a readable envelope' },
    deadAt: { type: 'integer', description: 'epoch ms' },
  },
  additionalProperties: true,
};

function pageReplyDoc(entry: Record<string, unknown>): Record<string, unknown> {
  return {
    description: 'A page of the list, oldest first. An entry stored as text that is not JSON comes as {"unreadable": text}.',
    type: 'object',
    properties: {
      entries: { type: 'array', items: entry },
      next: { type: ['integer', 'null'], description: 'the from of the following page; null when this page reaches the end' },
      length: { type: 'integer', description: "the list's length at the time of the read" },
    },
  };
}

const redriveReplyDoc = {
  description: "Redriven: the new message's seq, and whether an earlier redrive of the same dead letter had enqueued it already",
  type: 'object',
  properties: { seq: { type: 'integer' }, duplicate: { type: 'boolean' } },
};

/** How paging through a list works: the end of every list read's description. */
const PAGING =
  `from is a position in the list (0 = the head), limit at most ${MAX_PAGE}; next is the from of the following page, null at the end. ` +
  'Positions are counted at the time of each read: when consumers take entries off the head of the output list (LPOP, BLMOVE), ' +
  'or dead letters are redriven or purged, later entries move down, so the following page may skip as many entries as were taken. ' +
  'Every entry carries its seq: to follow a list that consumers drain, compare seqs instead of trusting positions.';

/** What one read route says of itself on the OpenAPI page. */
export interface RouteText {
  summary: string;
  description: string;
  tags: string[];
}

/** What the read routes of one API share: who may call them, their partition parameter and their errors. */
export interface ReadApi {
  security: unknown;
  partitionQuery: Record<string, unknown>;
  errors: Record<number, unknown>;
}

/** The schema of GET .../output or .../dead: a page of output entries or of dead letters (the paging rules end its description). */
export function listPageDoc(list: 'output' | 'dead', text: RouteText, api: ReadApi, params: unknown): Record<string, unknown> {
  return {
    summary: text.summary,
    description: `${text.description} ${PAGING}`,
    tags: text.tags,
    security: api.security,
    params,
    querystring: { type: 'object', properties: { ...api.partitionQuery, ...pageQueryDoc } },
    response: { 200: pageReplyDoc(list === 'output' ? outputEntryDoc : deadLetterDoc), ...api.errors },
  };
}

/** The schema of POST .../dead/:seq/redrive: `refusals` (404, 409...) replace or join the API's errors. */
export function redriveDoc(text: RouteText, api: ReadApi, params: unknown, refusals: Record<number, unknown>): Record<string, unknown> {
  return {
    ...text,
    security: api.security,
    params,
    querystring: { type: 'object', properties: api.partitionQuery },
    body: jsonSchema(redriveBody),
    response: { 200: redriveReplyDoc, ...api.errors, ...refusals },
  };
}
