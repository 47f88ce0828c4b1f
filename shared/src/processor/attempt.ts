import { backoffMs } from '../backoff.js';
import { readClaimed, type DeadLetter, type DeadLetterReason, type Envelope } from '../envelope.js';
import { HandlerTimeoutError } from '../errors.js';
import type { Handler } from '../handler.js';
import type { Logger } from '../logger.js';
import type { Claimed } from '../partition/partition.js';

export interface AttemptSettings {
  handlerTimeoutMs: number;
  maxRetries: number;
  maxAgeMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface AttemptParts {
  handler: Handler;
  settings: AttemptSettings;
  logger: Logger;
  /** wall clock, epoch ms: the envelope's timestamps */
  clock: () => number;
  random: () => number;
}

/** How one attempt ended: what to write for it, or nothing (its claim is no longer ours). */
export type Outcome =
  | { action: 'complete'; body: string; createdAt: number; processingAt: number; processedAt: number }
  | { action: 'retry'; delayMs: number; body: string; error: string }
  | { action: 'dead'; reason: DeadLetterReason; body: string; error: string }
  | { action: 'malformed'; body: string; error: string }
  | { action: 'abandoned'; error: string };

export interface AttemptInput {
  claimed: Claimed;
  /** the claim's signal: aborts on its timeout (a failure), a lost claim or shutdown (abandoned) */
  signal: AbortSignal;
  /** Redis's clock now (max age is measured on it, not on this host's clock) */
  redisNow: () => number;
  /** settles the attempt's promise early when the claim ends while the handler still runs */
  track: (reject: (reason: Error) => void) => () => boolean;
}

/**
 * One attempt of one claimed message: read the entry, run the handler, and decide what to
 * write. Never throws: whatever a message holds (any nesting, keys, sizes) or the handler
 * does, the outcome is a settle item, so no message can end the process.
 */
export async function runAttempt(parts: AttemptParts, input: AttemptInput): Promise<Outcome> {
  const { claimed } = input;
  try {
    const read = readClaimed(claimed.raw, claimed.seq);
    if (!read.ok) {
      // An entry that does not own its seq names it as readSeq: its dead letter does not account for it.
      const seqField = read.ownsSeq ? { seq: claimed.seq } : { readSeq: claimed.seq };
      const record = {
        ...seqField,
        reason: 'malformed',
        attempts: claimed.attempts,
        lastError: read.error,
        raw: claimed.raw,
        deadAt: parts.clock(),
      };
      const body = JSON.stringify(record);
      return read.ownsSeq
        ? { action: 'dead', reason: 'malformed', body, error: read.error }
        : { action: 'malformed', body, error: read.error };
    }
    return await attempt(parts, input, read.envelope);
  } catch (error) {
    // Only a bug of ours lands here; keep the raw text so nothing is lost.
    const message = `processing failed: ${describe(error)}`;
    const body = JSON.stringify({
      seq: claimed.seq,
      reason: 'malformed',
      attempts: claimed.attempts,
      lastError: message,
      raw: claimed.raw,
      deadAt: Date.now(),
    });
    return { action: 'dead', reason: 'malformed', body, error: message };
  }
}

async function attempt(parts: AttemptParts, input: AttemptInput, envelope: Envelope): Promise<Outcome> {
  const { claimed } = input;
  const lost = exhausted(parts.settings, envelope, claimed.attempts - 1, input.redisNow());
  if (claimed.attempts > 1 && lost) {
    return deadLetter(
      parts,
      envelope,
      claimed.attempts,
      lost,
      envelope.lastError ?? 'attempt lost (its processor stopped or lost its claim)',
      undefined,
    );
  }
  const processingAt = parts.clock();
  let result: unknown;
  try {
    result = await invoke(parts, input, envelope);
  } catch (error) {
    if (input.signal.aborted && !(input.signal.reason instanceof HandlerTimeoutError)) {
      return { action: 'abandoned', error: describe(input.signal.reason) };
    }
    return failed(parts, input, envelope, processingAt, describe(error));
  }
  const processedAt = parts.clock();
  const body = outputBody(envelope, claimed.attempts, processingAt, processedAt, result);
  if (body === undefined) return failed(parts, input, envelope, processingAt, "the handler's result is not JSON-serialisable");
  return { action: 'complete', body, createdAt: envelope.createdAt, processingAt, processedAt };
}

/** The output envelope, built as one literal (no spread: see STYLE.md), or undefined when the result cannot be serialised. */
function outputBody(e: Envelope, attempts: number, processingAt: number, processedAt: number, result: unknown): string | undefined {
  const output = {
    seq: e.seq,
    payload: e.payload,
    id: e.id,
    key: e.key,
    maxRetries: e.maxRetries,
    maxAgeMs: e.maxAgeMs,
    priority: e.priority,
    originalSeq: e.originalSeq,
    attempts,
    createdAt: e.createdAt,
    processingAt,
    processedAt,
    result: result === undefined ? null : result,
  };
  try {
    const body = JSON.stringify(output);
    return body.startsWith('{"seq":') && body.endsWith('}') ? body : undefined;
  } catch {
    return undefined;
  }
}

function failed(parts: AttemptParts, input: AttemptInput, envelope: Envelope, processingAt: number, error: string): Outcome {
  const { claimed } = input;
  const reason = exhausted(parts.settings, envelope, claimed.attempts, input.redisNow());
  if (reason) return deadLetter(parts, envelope, claimed.attempts, reason, error, processingAt);
  const { backoffBaseMs, backoffMaxMs } = parts.settings;
  const delayMs = backoffMs(claimed.attempts, backoffBaseMs, backoffMaxMs, parts.random);
  const next = { ...envelope, attempts: claimed.attempts, lastError: error, processingAt };
  return { action: 'retry', delayMs, body: JSON.stringify(next), error };
}

function deadLetter(
  parts: AttemptParts,
  envelope: Envelope,
  attempts: number,
  reason: DeadLetterReason,
  error: string,
  processingAt: number | undefined,
): Outcome {
  const record: DeadLetter = {
    seq: envelope.seq,
    reason,
    attempts,
    lastError: error,
    envelope: { ...envelope, attempts, lastError: error, ...(processingAt !== undefined ? { processingAt } : {}) },
    deadAt: parts.clock(),
  };
  return { action: 'dead', reason, body: JSON.stringify(record), error };
}

/** Which limit a seq has reached after `failures` failed attempts, if any. */
export function exhausted(settings: AttemptSettings, envelope: Envelope, failures: number, now: number): DeadLetterReason | undefined {
  const maxRetries = envelope.maxRetries ?? settings.maxRetries;
  const maxAgeMs = envelope.maxAgeMs ?? settings.maxAgeMs;
  if (maxRetries !== -1 && failures > maxRetries) return 'max-retries';
  if (maxAgeMs !== -1 && failures > 0 && now - envelope.createdAt > maxAgeMs) return 'max-age';
  return undefined;
}

/**
 * Runs the handler once. A throw or rejection fails the attempt, and so does the claim's
 * signal (timeout, lost claim, shutdown): the attempt ends then, even if the handler goes on.
 */
function invoke(parts: AttemptParts, input: AttemptInput, envelope: Envelope): Promise<unknown> {
  const { signal } = input;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<unknown>((resolve, reject) => {
    const untrack = input.track(reject);
    const done = (value: unknown): void => {
      if (!untrack()) parts.logger.warn('handler finished after its attempt ended; result discarded', { seq: envelope.seq });
      resolve(value);
    };
    const failed = (error: unknown): void => {
      untrack();
      reject(error);
    };
    const logger = parts.logger;
    let value: unknown;
    try {
      value = parts.handler(envelope.payload, {
        seq: envelope.seq,
        attempt: input.claimed.attempts,
        signal,
        envelope,
        get logger() {
          return logger.child({ seq: envelope.seq });
        },
      });
    } catch (error) {
      failed(error);
      return;
    }
    // A handler may answer at once or with a promise (or any thenable).
    if (value !== null && typeof value === 'object' && typeof (value as PromiseLike<unknown>).then === 'function') {
      (value as PromiseLike<unknown>).then(done, failed);
    } else {
      done(value);
    }
  });
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  try {
    return String(error);
  } catch {
    return 'unprintable error';
  }
}
