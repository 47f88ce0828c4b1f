/** One error class per failure mode, each with context and the underlying cause. */

export class InorderError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One or more environment variables are missing or invalid. Lists every bad variable. */
export class ConfigError extends InorderError {
  constructor(readonly problems: ReadonlyArray<{ variable: string; message: string }>) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
  }
}

/** The data layout stored in Redis is not the one this code writes. */
export class LayoutError extends InorderError {
  constructor(
    readonly key: string,
    readonly found: string,
    readonly expected: string,
  ) {
    super(
      `${key} holds data layout ${found}, this version of inorder writes layout ${expected}: ` +
        'drain the pipeline with the version that wrote it, or use another KEY_PREFIX',
    );
  }
}

/** An envelope failed validation. */
export class EnvelopeError extends InorderError {
  constructor(
    message: string,
    readonly raw?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The handler module could not be loaded or has no handler function. */
export class HandlerLoadError extends InorderError {}

/** The handler ran past its timeout. */
export class HandlerTimeoutError extends InorderError {
  constructor(readonly timeoutMs: number) {
    super(`handler timed out after ${timeoutMs} ms`);
  }
}

/** The sequencer could not acquire the leader lease (another instance holds it). */
export class LeaseNotAcquiredError extends InorderError {}

/** The sequencer held the lease and lost it (extension failed or came too late). */
export class LeaseLostError extends InorderError {}

/** An emit was refused because another leader has taken the fence since. */
export class FencedError extends InorderError {
  constructor(readonly fence: string) {
    super(`emit refused: fence ${fence} is no longer current`);
  }
}

/** A partition takes seqs from one source: the ingest assigns them, or producers give their own. */
export class SeqSourceError extends InorderError {}

/**
 * A producer gave a seq `maxAhead` or more past the partition's next seq (a numbering bug, two
 * producers numbering different ranges): it would hold the order until a gap timeout. Nothing
 * was written.
 */
export class SeqTooFarAheadError extends InorderError {
  constructor(
    readonly pipeline: string,
    readonly partition: number,
    readonly seq: number,
    readonly next: number,
    readonly maxAhead: number,
  ) {
    super(
      `${pipeline} partition ${partition}: seq ${seq} is ${maxAhead} or more ahead of the next seq ${next}; nothing was written ` +
        "(check the producer's numbering, or raise maxSeqAhead, 0 = no limit)",
    );
  }
}

/**
 * The pipeline's partition count is being changed (`npm run partitions`), or changed while the
 * write was under way: nothing more was written. Submit again once the resize has ended.
 */
export class PipelineResizingError extends InorderError {
  constructor(
    readonly pipeline: string,
    readonly partition: number,
    readonly to: number,
    stale: boolean,
  ) {
    super(
      stale
        ? `${pipeline} partition ${partition}: the pipeline now has ${to} partitions, not the count this write was routed by; ` +
            'nothing more was written: submit the rest again'
        : `${pipeline} partition ${partition}: the pipeline is being resized to ${to} partitions and takes no submits until ` +
            'its partitions have drained; nothing more was written: submit again once the resize has ended',
    );
  }
}

/** A pipeline's registry entry is not JSON or fails the schema: it must be fixed or deleted by hand. */
export class RegistryEntryError extends InorderError {
  constructor(
    readonly pipeline: string,
    readonly key: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      `pipeline ${pipeline}: its registry entry (field "${pipeline}" of hash ${key}) cannot be read: ${reason}; ` +
        'fix or delete the registry entry',
      options,
    );
  }
}

/** The registry holds its most pipelines: a new one was not created. */
export class RegistryFullError extends InorderError {
  constructor(
    readonly pipeline: string,
    readonly count: number,
    readonly maxPipelines: number,
  ) {
    super(`pipeline ${pipeline} was not created: the registry holds ${count} pipelines, at most ${maxPipelines} allowed`);
  }
}

/**
 * Redis refused this client for a reason that waiting will not fix (a wrong password, an
 * untrusted TLS certificate): at start a service exits 1 with it instead of waiting forever.
 * `url` is redacted; `reason` says what to change.
 */
export class RedisConnectionError extends InorderError {
  constructor(
    readonly url: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot connect to Redis at ${url}: ${reason}`, options);
  }
}

/**
 * A write step ran on the primary, but the connection failed before its WAIT answered
 * (REPLICA_ACKS): whether any replica holds it is unknown, so it is not acknowledged. It may
 * stand or be lost in a failover; every write step is safe to send again (a resubmitted message
 * with the same seq or id is dropped as a duplicate).
 */
export class ReplicaAckError extends InorderError {
  constructor(
    readonly step: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${step} ran on the primary, but the connection failed before replicas confirmed it: it may or may not survive a failover`,
      options,
    );
  }
}
