import { z } from 'zod';
import { EnvelopeError } from './errors.js';

/** -1 means no limit. */
const limit = z.number().int().min(-1);
const epochMs = z.number().int().nonnegative();

/** What producers put on the input list. */
export const envelopeSchema = z
  .object({
    seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    payload: z.unknown(),
    id: z.string().min(1).max(200).optional(),
    maxRetries: limit.optional(),
    maxAgeMs: limit.optional(),
    attempts: z.number().int().nonnegative().optional(),
    priority: z.number().int().optional(),
    lastError: z.string().optional(),
    /** set on a redriven dead letter: the seq it first had */
    originalSeq: z.number().int().min(1).optional(),
    createdAt: epochMs,
    processingAt: epochMs.optional(),
    processedAt: epochMs.optional(),
    sequencingAt: epochMs.optional(),
    sequencedAt: epochMs.optional(),
  })
  .refine((e) => 'payload' in e, { message: 'payload is required', path: ['payload'] });

export type Envelope = z.infer<typeof envelopeSchema>;

/** What the output list holds: the envelope, the handler's result, every timestamp. */
export interface OutputEnvelope extends Envelope {
  result: unknown;
  attempts: number;
  processingAt: number;
  processedAt: number;
  sequencingAt?: number;
  sequencedAt?: number;
}

export type DeadLetterReason = 'max-retries' | 'max-age' | 'malformed' | 'late';

/** What the dead-letter list holds. `raw` is kept when the entry could not be parsed. */
export interface DeadLetter {
  seq?: number;
  reason: DeadLetterReason;
  attempts?: number;
  lastError?: string;
  envelope?: Envelope;
  raw?: string;
  deadAt: number;
}

/** Input to `makeEnvelope`: everything but the timestamps is the producer's to choose. */
export interface NewMessage {
  seq: number;
  payload: unknown;
  id?: string;
  maxRetries?: number;
  maxAgeMs?: number;
  priority?: number;
  originalSeq?: number;
}

export function makeEnvelope(message: NewMessage, now = Date.now()): Envelope {
  return parseEnvelopeObject({ ...message, createdAt: now });
}

/** Serialises with `seq` first: the claim script reads it without decoding the JSON. */
export function serializeEnvelope<T extends { seq: number }>(envelope: T): string {
  const { seq, ...rest } = envelope;
  return JSON.stringify({ seq, ...rest });
}

function describe(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

export function parseEnvelopeObject(value: unknown, raw?: string): Envelope {
  const result = envelopeSchema.safeParse(value);
  if (!result.success) throw new EnvelopeError(`invalid envelope: ${describe(result.error)}`, raw);
  return result.data;
}

/** Parses one raw input entry; throws EnvelopeError naming the field and the reason. */
export function parseEnvelope(raw: string): Envelope {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (cause) {
    throw new EnvelopeError(`invalid envelope: not JSON (${(cause as Error).message})`, raw, { cause });
  }
  return parseEnvelopeObject(value, raw);
}
