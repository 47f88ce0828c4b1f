import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Envelope } from './envelope.js';
import { HandlerLoadError } from './errors.js';
import type { Logger } from './logger.js';
import { delay } from './time.js';

export interface HandlerContext {
  seq: number;
  /** 1 on the first attempt */
  attempt: number;
  /** aborted when the attempt timed out or the claim was lost: stop work, results are discarded */
  signal: AbortSignal;
  envelope: Envelope;
  logger: Logger;
}

/**
 * The user's work for one message. Its resolved value (JSON-serialisable) is the result that
 * goes to the output; a throw, a rejection or running past HANDLER_TIMEOUT_MS is a failure.
 * It may run more than once for one seq (after a crash or a lost claim): make it idempotent.
 */
export type Handler = (payload: unknown, context: HandlerContext) => unknown;

export interface SimulatedWork {
  workMs: number;
  failRate: number;
  random?: () => number;
}

/** The default handler: simulated IO work of `workMs`, failing with probability `failRate`. */
export function simulatedHandler({ workMs, failRate, random = Math.random }: SimulatedWork): Handler {
  return async (_payload, { signal }) => {
    if (workMs > 0) await delay(workMs, signal);
    if (failRate > 0 && random() < failRate) throw new Error('simulated failure');
    return { workedMs: workMs };
  };
}

/** A handler module: its handler, and its optional `close` export. */
export interface LoadedHandler {
  handler: Handler;
  /**
   * The module's `close()` export, when it has one: called once at shutdown, after in-flight
   * work settled, to release what the module holds (pools, keep-alive agents, clients).
   */
  close: (() => unknown) | undefined;
}

/**
 * Loads a handler module (path relative to the working directory, or a package name): its
 * default export, or an export named `handle`, must be a function; an export named `close`, if
 * any, must be a function too.
 */
export async function loadHandler(specifier: string): Promise<LoadedHandler> {
  const target = specifier.startsWith('.') || isAbsolute(specifier) ? pathToFileURL(resolve(specifier)).href : specifier;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(target)) as Record<string, unknown>;
  } catch (cause) {
    throw new HandlerLoadError(`HANDLER ${specifier}: cannot load module (${(cause as Error).message})`, { cause });
  }
  const candidate = typeof mod.default === 'function' ? mod.default : mod.handle;
  if (typeof candidate !== 'function') {
    throw new HandlerLoadError(`HANDLER ${specifier}: module exports no default function and no function named "handle"`);
  }
  if (mod.close !== undefined && typeof mod.close !== 'function') {
    throw new HandlerLoadError(`HANDLER ${specifier}: its "close" export is not a function`);
  }
  const close = mod.close as (() => unknown) | undefined;
  return { handler: candidate as Handler, close: close ? () => close() : undefined };
}
