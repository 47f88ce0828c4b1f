/**
 * Parts a test file starts once for one `describe`: `start` builds them in mocha's `before` and
 * `stop` ends them in `after`. The object returned reads the parts started; reading it before
 * `before` ran (outside tests and hooks) throws, naming the fixture. The use…() fixtures are
 * built on it; call it at the top of a `describe`.
 */
export function useFixture<T extends object>(
  name: string,
  start: () => Promise<T>,
  stop: (parts: T) => Promise<void>,
  options: { timeoutMs?: number } = {},
): T {
  let parts: T | undefined;
  before(async function () {
    if (options.timeoutMs !== undefined) this.timeout(options.timeoutMs);
    parts = await start();
  });
  after(async () => {
    if (parts) await stop(parts);
  });
  return new Proxy({} as T, {
    get(_target, key) {
      if (!parts) throw new Error(`${name} not started: call it inside describe`);
      return Reflect.get(parts, key);
    },
  });
}
