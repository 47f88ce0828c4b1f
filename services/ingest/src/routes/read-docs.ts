import { DEFAULT_PAGE, MAX_PAGE } from '../params.js';

/** OpenAPI descriptions of the read routes' parameters and answers (documentation only: the handlers validate). */

export const pageQueryDoc = {
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

export const outputEntryDoc = {
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

export const deadLetterDoc = {
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

export function pageReplyDoc(entry: Record<string, unknown>): Record<string, unknown> {
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

export const redriveReplyDoc = {
  description: "Redriven: the new message's seq, and whether an earlier redrive of the same dead letter had enqueued it already",
  type: 'object',
  properties: { seq: { type: 'integer' }, duplicate: { type: 'boolean' } },
};
