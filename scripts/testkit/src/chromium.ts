/**
 * The browser the page tests drive with playwright-core (which downloads none): the Debian
 * package `chromium`, which .ci/run installs. A test skips its page checks when it is missing.
 */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Its flags for a test run: no sandbox, GPU or network chatter of its own. Headless with a fresh
 * profile directory of its own: playwright adds --headless and --user-data-dir.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
