import { PRIORITY_MAX, PRIORITY_MIN } from '@inorder/shared';
import { z } from 'zod';
import { badRequest, type Issue } from './errors.js';

const limit = z.number().int().min(-1);
/** In a `u` regex a surrogate pair is one code point, so this matches only a half on its own. */
const LONE_SURROGATE = /[\ud800-\udfff]/u;

/**
 * An id or an ordering key: 1 to 200 characters of well-formed Unicode. A lone surrogate reaches
 * Redis as U+FFFD: two different ids (or keys) would be taken for one.
 */
const wellFormedName = z
  .string()
  .min(1)
  .max(200)
  .refine((name) => !LONE_SURROGATE.test(name), 'must be well-formed Unicode (no lone surrogate)');

/** One message of POST /v1/pipelines/:pipeline/messages. */
export const messageSchema = z
  .object({
    payload: z.unknown().meta({ description: 'any JSON value: what the handler receives' }),
    seq: z
      .number()
      .int()
      .min(1)
      .max(Number.MAX_SAFE_INTEGER)
      .optional()
      .meta({ description: "the message's place in the order; omit on every message of a batch to have seqs assigned" }),
    id: wellFormedName
      .optional()
      .meta({ description: 'idempotency key: resubmitting it within DEDUP_TTL_MS returns the first seq and enqueues nothing' }),
    key: wellFormedName.optional().meta({
      description:
        "ordering key: routes the message to partition murmur2(key) mod partitions (Kafka's partitioner), so one key keeps its order",
    }),
    maxRetries: limit.optional().meta({ description: 'retries before the message is dead-lettered (-1 = no limit)' }),
    maxAgeMs: limit.optional().meta({ description: 'age in ms past which it is dead-lettered (-1 = no limit)' }),
    priority: z
      .number()
      .int()
      .min(PRIORITY_MIN)
      .max(PRIORITY_MAX)
      .optional()
      .meta({ description: `unordered pipelines only: lower first, equal priorities first-in first-out (default 0)` }),
  })
  .strict();

export type Message = z.infer<typeof messageSchema>;

/** The body of the seed event processor's POST /api/event/v1. */
export const eventSchema = z.object({
  user_id: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER),
  priority: z.number().int().min(PRIORITY_MIN).max(PRIORITY_MAX).meta({ description: 'lower first; equal priorities first-in first-out' }),
  event_data: z.unknown().meta({ description: 'any JSON value' }),
  event_type_id: z
    .number()
    .int()
    .min(0)
    .max(Number.MAX_SAFE_INTEGER)
    .meta({ description: 'each type has its own unordered pipeline, events-<id>' }),
});

export type EventBody = z.infer<typeof eventSchema>;

const NAMES: Record<string, string> = { int: 'an integer', number: 'a number', string: 'a string', object: 'an object', array: 'an array' };

/** Readable reasons for zod issues: "is required", "must be an integer", "must be at most 1000". */
export function describeIssues(error: z.ZodError, prefix = ''): Issue[] {
  const issues: Issue[] = [];
  for (const issue of error.issues) {
    const path = fieldPath(prefix, issue.path);
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) issues.push({ field: fieldPath(prefix, [...issue.path, key]), reason: 'is not a known field' });
        break;
      case 'invalid_type':
        issues.push({
          field: path,
          reason:
            issue.expected === 'nonoptional' || /received undefined$/.test(issue.message)
              ? 'is required'
              : `must be ${NAMES[issue.expected] ?? issue.expected}`,
        });
        break;
      case 'too_small':
        issues.push({
          field: path,
          reason: issue.origin === 'string' ? `must be at least ${issue.minimum} characters` : `must be at least ${issue.minimum}`,
        });
        break;
      case 'too_big':
        issues.push({
          field: path,
          reason: issue.origin === 'string' ? `must be at most ${issue.maximum} characters` : `must be at most ${issue.maximum}`,
        });
        break;
      default:
        issues.push({ field: path, reason: issue.message });
    }
  }
  return issues;
}

function fieldPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `${out ? '.' : ''}${String(part)}`;
  return out || '(body)';
}

/**
 * Parses a submit body: one message object or a non-empty array of at most `maxBatch`.
 * Throws a 400 RequestError naming every bad field.
 */
export function parseSubmitBody(body: unknown, maxBatch: number): { messages: Message[]; batch: boolean } {
  const batch = Array.isArray(body);
  if (!batch && (typeof body !== 'object' || body === null)) {
    throw badRequest([{ field: '(body)', reason: 'must be a message object or an array of messages' }]);
  }
  const items: unknown[] = batch ? body : [body];
  if (items.length === 0) throw badRequest([{ field: '(body)', reason: 'must hold at least one message' }]);
  if (items.length > maxBatch) {
    throw badRequest([{ field: '(body)', reason: `holds ${items.length} messages; a batch takes at most ${maxBatch} (MAX_BATCH)` }]);
  }
  const messages: Message[] = [];
  const issues: Issue[] = [];
  items.forEach((item, i) => {
    const result = messageSchema.safeParse(item);
    if (result.success) messages.push(result.data);
    else issues.push(...describeIssues(result.error, batch ? `[${i}]` : ''));
  });
  if (issues.length > 0) throw badRequest(issues);
  checkSeqs(messages);
  return { messages, batch };
}

/** A batch gives a seq on every message or on none, and never the same seq twice. */
function checkSeqs(messages: Message[]): void {
  const withSeq = messages.filter((m) => m.seq !== undefined).length;
  if (withSeq > 0 && withSeq < messages.length) {
    const missing = messages.findIndex((m) => m.seq === undefined);
    throw badRequest([
      {
        field: `[${missing}].seq`,
        reason: `is missing while ${withSeq} other message(s) of the batch give one: give a seq on every message of a batch or on none`,
      },
    ]);
  }
  const seen = new Map<number, number>();
  const issues: Issue[] = [];
  messages.forEach((m, i) => {
    if (m.seq === undefined) return;
    const first = seen.get(m.seq);
    if (first !== undefined) issues.push({ field: `[${i}].seq`, reason: `${m.seq} is already the seq of message [${first}]` });
    else seen.set(m.seq, i);
  });
  if (issues.length > 0) throw badRequest(issues);
}

/** Ordered pipelines have no priorities: every message that gives one is named. */
export function checkPriorities(messages: Message[], batch: boolean, pipeline: string): void {
  const issues = messages.flatMap((m, i) =>
    m.priority === undefined
      ? []
      : [
          {
            field: batch ? `[${i}].priority` : 'priority',
            reason: `pipeline ${pipeline} is ordered (ordering strict): priority applies to unordered pipelines only`,
          },
        ],
  );
  if (issues.length > 0) throw badRequest(issues);
}

/**
 * Parses the event API's body; throws a 400 RequestError naming every bad field. Each
 * event_type_id is a pipeline: ids above `maxTypeId` (EVENT_TYPE_ID_MAX) are refused.
 */
export function parseEvent(body: unknown, maxTypeId: number): EventBody {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest([{ field: '(body)', reason: 'must be a JSON object with user_id, priority, event_data and event_type_id' }]);
  }
  const result = eventSchema.safeParse(body);
  if (!result.success) throw badRequest(describeIssues(result.error));
  if (result.data.event_type_id > maxTypeId) {
    throw badRequest([{ field: 'event_type_id', reason: `must be at most ${maxTypeId} (EVENT_TYPE_ID_MAX)` }]);
  }
  return result.data;
}

/** A zod schema as JSON Schema for the OpenAPI page. */
export function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}
