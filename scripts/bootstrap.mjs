#!/usr/bin/env node
// Entry point of every tool (plain Node, no dependencies), so that `npm run demo` works on a
// fresh clone: installs dependencies when node_modules is missing, builds when a build is
// missing or older than its sources, then runs `node scripts/<package>/dist/<name>.js` (the
// package being tools or lab, whichever holds src/<name>.ts) with the remaining arguments and
// exits with its code. `node scripts/bootstrap.mjs deps` only installs what is missing.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [name, ...args] = process.argv.slice(2);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

if (!name || !/^[a-z][a-z0-9-]*$/.test(name)) {
  process.stderr.write('usage: node scripts/bootstrap.mjs <script> [args...]   e.g. demo, burst, verify, stats, stack\n');
  process.exit(2);
}

function note(text) {
  process.stderr.write(`[bootstrap] ${text}\n`);
}

function run(command, commandArgs) {
  const result = spawnSync(command, commandArgs, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.error) {
    note(`cannot run ${command}: ${result.error.message}`);
    return 1;
  }
  return result.status ?? 1;
}

/** Newest modification time (ms) of the files under `dir` whose names pass `keep`. */
function newest(dir, keep) {
  let latest = 0;
  if (!existsSync(dir)) return latest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(path, keep));
    else if (keep(entry.name)) latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

/** The packages whose src/<name>.ts files are tools: the operator tools, then the lab. */
const TOOL_PACKAGES = ['tools', 'lab'];

/** The TypeScript projects the root tsconfig builds: shared, services/*, scripts/*. */
function projects() {
  const list = [join(root, 'shared')];
  for (const parent of ['services', 'scripts']) {
    const dir = join(root, parent);
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) list.push(join(dir, entry.name));
    }
  }
  return list.filter((dir) => existsSync(join(dir, 'tsconfig.json')));
}

/** The package directory (scripts/tools or scripts/lab) that holds the tool `name`, or undefined. */
function toolPackage(name) {
  return TOOL_PACKAGES.map((pkg) => join('scripts', pkg)).find(
    (dir) => existsSync(join(root, dir, 'src', `${name}.ts`)) || existsSync(join(root, dir, 'dist', `${name}.js`)),
  );
}

/** Newest modification time (ms) of any file under `dir` (a build output). */
function newestIn(dir) {
  let latest = 0;
  if (!existsSync(dir)) return latest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newestIn(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** A project needs a build when its dist is missing or older than a source or its tsconfig. */
function needsBuild() {
  return projects().some((dir) => {
    const built = newestIn(join(dir, 'dist'));
    if (built === 0) return true;
    const sources = Math.max(
      newest(join(dir, 'src'), (f) => f.endsWith('.ts')),
      statSync(join(dir, 'tsconfig.json')).mtimeMs,
    );
    return sources > built;
  });
}

if (!existsSync(join(root, 'node_modules'))) {
  note('node_modules is missing: running npm ci (about 20 s)');
  if (run(npm, ['ci', '--no-audit', '--no-fund']) !== 0) {
    note('npm ci failed; fix the error above and run the command again');
    process.exit(1);
  }
}

// `deps`: only the install step (npm test runs it first, then mocha on the sources).
if (name === 'deps') process.exit(0);

const pkg = toolPackage(name);
if (!pkg) {
  note(`unknown script "${name}": no scripts/{${TOOL_PACKAGES.join(',')}}/src/${name}.ts`);
  process.exit(2);
}
const built = join(pkg, 'dist', `${name}.js`);
const target = join(root, built);
if (!existsSync(target) || needsBuild()) {
  note('building (npx tsc -b)');
  const status = run(npx, ['tsc', '-b']);
  if (status !== 0) {
    if (!existsSync(target)) {
      note(`the build failed and ${built} does not exist`);
      process.exit(1);
    }
    note('the build reported errors (above); running what was built');
  }
}
if (!existsSync(target)) {
  note(`unknown script "${name}": ${built} does not exist`);
  process.exit(2);
}

// The script runs in its own process group, so a Ctrl-C in the terminal reaches only this
// process, which passes it on once: the script then stops everything it started and exits
// with its own code. SIGTERM and SIGHUP are passed on the same way.
const child = spawn(process.execPath, [target, ...args], { cwd: process.cwd(), stdio: 'inherit', detached: true });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
}
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 1);
});
