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

  constructor(private readonly subscriber: RedisClient, private readonly logger: Logger) {
    subscriber.on('message', (channel: string, tag: string) => this.callbacks.get(key(channel, tag))?.());
    subscriber.on('ready', () => {
      if (this.connectedOnce) this.wakeAll();
      this.connectedOnce = true;
    });
  }

  /** Calls `callback` whenever the partition `tag` is woken on `channel`; resolves once subscribed. */
  async on(channel: string, tag: string, callback: () => void): Promise<void> {
    this.callbacks.set(key(channel, tag), callback);
    let subscribed = this.channels.get(channel);
    if (!subscribed) {
      subscribed = this.subscriber.subscribe(channel);
      this.channels.set(channel, subscribed);
    }
    await subscribed;
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
