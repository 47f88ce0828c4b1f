import type { Logger } from './logger.js';
import type { RedisClient } from './redis.js';

/**
 * Listens for wake-ups with one subscriber connection, however many partitions the process
 * serves: the Lua steps publish a partition's tag on a wake channel (wakeChannels(prefix)) when
 * it has work, and the listener calls that partition's callback. Wake-ups are hints: after the
 * subscriber reconnects (messages may have been missed) every callback is called.
 */
export class WakeListener {
  private readonly callbacks = new Map<string, () => void>();
  private readonly channels = new Map<string, Promise<unknown>>();
  private connectedOnce = false;

  constructor(
    private readonly subscriber: RedisClient,
    private readonly logger: Logger,
  ) {
    subscriber.on('message', (channel: string, tag: string) => this.callbacks.get(key(channel, tag))?.());
    subscriber.on('ready', () => {
      if (this.connectedOnce) this.wakeAll();
      this.connectedOnce = true;
    });
  }

  /**
   * Calls `callback` whenever the partition `tag` is woken on `channel`. Never waits for the
   * subscription: until it is in place (a connection that cannot come up, Redis at maxclients)
   * the partition is only polled.
   */
  on(channel: string, tag: string, callback: () => void): void {
    this.callbacks.set(key(channel, tag), callback);
    if (this.channels.has(channel)) return;
    this.channels.set(
      channel,
      this.subscriber.subscribe(channel).catch((error: unknown) => {
        this.channels.delete(channel);
        this.logger.warn('subscribing to wake-ups failed; partitions are polled until it works', {
          event: 'wake-failed',
          channel,
          error: String(error),
        });
      }),
    );
  }

  off(channel: string, tag: string): void {
    this.callbacks.delete(key(channel, tag));
  }

  /** Calls every callback: what a missed message would have said, said to everyone. */
  wakeAll(): void {
    this.logger.debug('waking every partition (the subscriber reconnected)', { event: 'wake-all' });
    for (const callback of this.callbacks.values()) callback();
  }

  stop(): void {
    this.callbacks.clear();
    this.subscriber.disconnect();
  }
}

function key(channel: string, tag: string): string {
  return `${channel}\n${tag}`;
}
