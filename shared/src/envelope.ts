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
    /** the ordering key that chose its partition */
    key: z.string().min(1).max(256).optional(),
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

export type DeadLetterReason = 'max-retries' | 'max-age' | 'malformed' | 'late' | 'conflict';

/** What the dead-letter list holds. `raw` is kept when the entry could not be parsed. */
export interface DeadLetter {
  /** the seq this dead letter settles (its order moved past it) */
  seq?: number;
  /** a copy that did not take its seq (late, conflict, or unreadable as that seq): the seq it read */
  readSeq?: number;
  reason: DeadLetterReason;
  attempts?: number;
  lastError?: string;
  envelope?: Envelope;
  raw?: string;
  deadAt: number;
}

/** Input to `makeEnvelope`: everything but the timestamps is the producer's to choose. */
export interface NewMessage {
  /** its place in the order */
  seq: number;
  /** what the handler receives */
  payload: unknown;
  /** makes a submit idempotent while the id is remembered */
  id?: string;
  /** the ordering key that chose its partition (kept on the envelope; routing is the caller's) */
  key?: string;
  /** retries before it is dead-lettered (-1 = no limit) */
  maxRetries?: number;
  /** age in ms past which it is dead-lettered (-1 = no limit) */
  maxAgeMs?: number;
  /** unordered pipelines only: lower first, PRIORITY_MIN..PRIORITY_MAX, default 0 */
  priority?: number;
  /** set on a redriven dead letter: the seq it first had */
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
  return error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

export function parseEnvelopeObject(value: unknown, raw?: string): Envelope {
  const result = envelopeSchema.safeParse(value);
  if (!result.success) throw new EnvelopeError(`invalid envelope: ${describe(result.error)}`, raw);
  return result.data;
}

/**
 * The deepest nesting of arrays and objects in a JSON text (brackets outside strings), found
 * by one linear scan: no recursion, so no text can overflow the stack here.
 */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) max = Math.max(max, ++depth);
    else if (c === 125 || c === 93) depth--;
  }
  return max;
}

/** Deepest nesting a processor reads (the envelope itself is level 1); deeper entries are malformed. */
export const MAX_ENVELOPE_DEPTH = 256;

/**
 * A claimed entry read for processing: the envelope, or why it cannot be processed and whether
 * it still owns the seq its claim read. An entry that is not JSON, or whose JSON says another seq
 * (duplicate keys), never owns a seq: the real message may still come. Valid JSON with that seq
 * but a bad field owns it (a tombstone moves the order past it).
 */
export type ClaimedRead = { ok: true; envelope: Envelope } | { ok: false; ownsSeq: boolean; error: string };

export function readClaimed(raw: string, seq: number): ClaimedRead {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (cause) {
    return { ok: false, ownsSeq: false, error: `invalid envelope: not JSON (${(cause as Error).message})` };
  }
  const said = (value as { seq?: unknown } | null)?.seq;
  if (said !== seq) {
    return {
      ok: false,
      ownsSeq: false,
      error: `invalid envelope: its seq reads as ${String(said)} but it was claimed as ${seq} (duplicate keys?)`,
    };
  }
  // JSON.parse takes any depth; serialising it again would not. (Nesting needs two characters a level.)
  const depth = raw.length > 2 * MAX_ENVELOPE_DEPTH ? jsonDepth(raw) : 0;
  if (depth > MAX_ENVELOPE_DEPTH) {
    return { ok: false, ownsSeq: true, error: `invalid envelope: nested ${depth} levels deep, more than ${MAX_ENVELOPE_DEPTH}` };
  }
  const result = envelopeSchema.safeParse(value);
  if (!result.success) return { ok: false, ownsSeq: true, error: `invalid envelope: ${describe(result.error)}` };
  return { ok: true, envelope: result.data };
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
