/**
 * Wakes one waiting loop: `ring()` from anywhere (a slot freed, a wake-up, a stop), `wait()` in
 * the loop, with an optional timeout. A ring while nobody waits is kept for the next wait.
 */
export class Doorbell {
  private waiter: (() => void) | undefined;
  private rung = false;

  ring(): void {
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter();
    } else {
      this.rung = true;
    }
  }

  wait(timeoutMs?: number): Promise<void> {
    if (this.rung) {
      this.rung = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      this.waiter = () => {
        clearTimeout(timer);
        resolve();
      };
      if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
        timer = setTimeout(
          () => {
            this.waiter = undefined;
            resolve();
          },
          Math.max(0, timeoutMs),
        );
      }
    });
  }
}
