// The part of .ci/check-containers that reads the Dockerfile and the compose file as parsed by Compose
// (COMPOSE_JSON): checks 2-5 of that script's header. Run by it; prints ok/FAIL lines, exits 1 on a failure.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { fail, finish, ok, skip } from './checks.mjs';

const composePath = process.env.COMPOSE_FILE_PATH;
const dockerfilePath = process.env.DOCKERFILE_PATH;
const compose = JSON.parse(readFileSync(process.env.COMPOSE_JSON, 'utf8'));
const isDir = (p) => existsSync(p) && statSync(p).isDirectory();
const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));

// ---- Dockerfile: stages, what each one's filesystem holds, its commands and environment.
function instructions(text) {
  const out = [];
  let current = '';
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw)) continue; // comments, also between continued lines
    const line = raw.replace(/\s+$/, '');
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    const m = /^\s*(\S+)\s*(.*)$/.exec(current);
    if (m) out.push({ op: m[1].toUpperCase(), args: m[2].trim() });
    current = '';
  }
  return out;
}
const words = (args) => (args.startsWith('[') ? JSON.parse(args) : args.split(/\s+/).filter(Boolean));
const execForm = (args) => (args.startsWith('[') ? JSON.parse(args) : ['/bin/sh', '-c', args]);

const stages = [];
for (const { op, args } of instructions(readFileSync(dockerfilePath, 'utf8'))) {
  if (op === 'FROM') {
    const [base, , name] = words(args.replace(/--platform=\S+\s*/, ''));
    const parent = stages.find((s) => s.name === base);
    stages.push(
      parent
        ? { ...structuredClone(parent), name: name ?? `#${stages.length}`, base }
        : {
            name: name ?? `#${stages.length}`,
            base,
            workdir: '/',
            provides: [],
            env: {},
            cmd: undefined,
            entrypoint: undefined,
            healthcheck: undefined,
            installs: [],
          },
    );
    continue;
  }
  const stage = stages.at(-1);
  if (!stage) continue; // ARG before the first FROM
  if (op === 'WORKDIR') stage.workdir = posix.resolve(stage.workdir, args);
  else if (op === 'ENV') {
    const pairs = [...args.matchAll(/(\w+)=("[^"]*"|\S+)/g)];
    if (pairs.length) for (const [, k, v] of pairs) stage.env[k] = v.replace(/^"|"$/g, '');
    else {
      const [k, ...v] = args.split(/\s+/);
      stage.env[k] = v.join(' ');
    }
  } else if (op === 'CMD') stage.cmd = execForm(args);
  else if (op === 'ENTRYPOINT') {
    stage.entrypoint = execForm(args);
    stage.cmd = undefined;
  } else if (op === 'HEALTHCHECK') {
    const m = /\bCMD\s+(.*)$/.exec(args);
    stage.healthcheck = m ? execForm(m[1]) : undefined;
  } else if (op === 'COPY' || op === 'ADD') {
    const parts = words(args);
    const flags = Object.fromEntries(parts.filter((p) => p.startsWith('--')).map((p) => p.slice(2).split('=')));
    const paths = parts.filter((p) => !p.startsWith('--'));
    const dest = paths.pop();
    const destAbs = posix.resolve(stage.workdir, dest);
    const from = flags.from ? stages.find((s) => s.name === flags.from) : undefined;
    for (const src of paths) {
      // Sources map onto the repository: the build context is its root, and a build stage mirrors it
      // under its WORKDIR, so `--from=build /app/shared/dist` is the repository's shared/dist after a build.
      const repoPath = from ? posix.relative(from.workdir, posix.resolve(from.workdir, src)) : posix.normalize(src);
      const intoDir = dest.endsWith('/') || paths.length > 1 || isDir(repoPath);
      const target = isDir(repoPath) ? destAbs : intoDir ? posix.join(destAbs, posix.basename(src)) : destAbs;
      stage.provides.push({ target, repoPath, from: flags.from });
    }
  } else if (op === 'RUN' && /\bnpm\s+ci\b/.test(args)) {
    // --workspace=DIR / -w DIR limit the install to those workspaces (all when none is named).
    const only = [...args.matchAll(/(?:--workspace[=\s]|-w\s)\s*(\S+)/g)].map((m) => posix.normalize(m[1]));
    stage.installs.push({ provided: [...stage.provides], only });
  }
}
const final = stages.at(-1);
const inImage = (abs) => final.provides.find((p) => abs === p.target || abs.startsWith(`${p.target}/`));
console.log(
  `containers: ${dockerfilePath} (stages ${stages.map((s) => s.name).join(', ')}; final: ${final.name}, WORKDIR ${final.workdir})`,
);

for (const stage of stages) {
  for (const p of stage.provides.filter((x) => x.from)) {
    if (existsSync(p.repoPath)) ok(`${stage.name}: COPY --from=${p.from} ${p.repoPath} exists in the build output`);
    else fail(`${stage.name}: COPY --from=${p.from} copies ${p.repoPath}, which the build does not produce`);
  }
}

// Every `npm ci` must see the lock file and every workspace's package.json, or it refuses to install.
const root = readJson('package.json');
const workspaces = (root.workspaces ?? [])
  .flatMap((pattern) =>
    pattern.endsWith('/*')
      ? isDir(pattern.slice(0, -2))
        ? readdirSync(pattern.slice(0, -2)).map((d) => `${pattern.slice(0, -2)}/${d}`)
        : []
      : [pattern],
  )
  .filter((dir) => existsSync(`${dir}/package.json`));
const manifests = ['package.json', 'package-lock.json', ...workspaces.map((dir) => `${dir}/package.json`)];
for (const stage of stages) {
  for (const { provided } of stage.installs) {
    const missing = manifests.filter((m) => !provided.some((p) => posix.resolve(stage.workdir, m) === p.target));
    if (missing.length) fail(`${stage.name}: npm ci runs without ${missing.join(', ')}`);
    else ok(`${stage.name}: npm ci sees all ${manifests.length} manifests (${manifests.join(', ')})`);
  }
}

// ---- Commands: `node <file>` must name a built file that the final stage copies.
const byName = new Map(workspaces.map((dir) => [readJson(`${dir}/package.json`).name, dir]));
function runtimeFiles(dir, seen = new Set()) {
  // A workspace's package.json plus, for each workspace package it depends on, that package's "files".
  if (seen.has(dir)) return [];
  seen.add(dir);
  const pkg = readJson(`${dir}/package.json`);
  const out = [`${dir}/package.json`];
  for (const dep of Object.keys(pkg.dependencies ?? {})) {
    const depDir = byName.get(dep);
    if (!depDir) continue;
    const depPkg = readJson(`${depDir}/package.json`);
    out.push(...(depPkg.files ?? ['.']).map((f) => posix.join(depDir, f)), ...runtimeFiles(depDir, seen));
  }
  return out;
}
function nodeScript(argv) {
  const i = argv.findIndex((a) => posix.basename(a) === 'node');
  if (i < 0) return { error: 'does not run node' };
  const rest = argv.slice(i + 1);
  for (let j = 0; j < rest.length; j++) {
    const a = rest[j];
    if (a === '-e' || a === '--eval' || a === '-p' || a === '--print') return { code: rest[j + 1] ?? '' };
    if (['-r', '--require', '--import', '--conditions', '-C'].includes(a)) {
      j++;
      continue;
    }
    if (!a.startsWith('-')) return { script: a };
  }
  return { error: 'names no script' };
}
function checkCommand(label, argv, workdir) {
  const shown = argv.join(' ');
  const { script, error } = nodeScript(argv);
  if (!script) return (fail(`${label}: \`${shown}\` ${error ?? 'is inline code'}; expected \`node <file>\``), undefined);
  const abs = posix.resolve(workdir, script);
  const repoPath = posix.relative(final.workdir, abs);
  if (!existsSync(repoPath)) return (fail(`${label}: \`${shown}\` -> ${repoPath} is not in the build output`), repoPath);
  const copy = inImage(abs);
  if (!copy) return (fail(`${label}: \`${shown}\` -> ${repoPath} exists, but stage ${final.name} does not copy it`), repoPath);
  ok(`${label}: \`${shown}\` -> ${repoPath} exists and is in stage ${final.name}`);
  const dir = workspaces.filter((w) => repoPath.startsWith(`${w}/`)).sort((a, b) => b.length - a.length)[0];
  if (dir) {
    const needed = runtimeFiles(dir);
    const missing = needed.filter((f) => !inImage(posix.resolve(final.workdir, f)));
    if (missing.length) fail(`${label}: stage ${final.name} lacks ${missing.join(', ')}, which ${repoPath} loads`);
    else ok(`${label}: stage ${final.name} holds what it loads (${needed.join(', ')})`);
    // The final stage's npm ci must install the dependencies of this workspace and of the workspaces it uses.
    const uses = [dir, ...needed.filter((f) => f.endsWith('/package.json')).map((f) => posix.dirname(f))];
    for (const { only } of final.installs) {
      const left = only.length ? [...new Set(uses)].filter((w) => !only.includes(w)) : [];
      if (left.length)
        fail(
          `${label}: stage ${final.name} runs npm ci without --workspace=${left.join(' --workspace=')}, so their dependencies are missing`,
        );
    }
    if (!final.installs.length) fail(`${label}: stage ${final.name} never runs npm ci, so ${dir}'s dependencies are missing`);
  }
  return repoPath;
}

console.log('containers: commands');
const imageCmd = [...(final.entrypoint ?? []), ...(final.cmd ?? [])];
if (imageCmd.length) checkCommand(`${dockerfilePath} CMD`, imageCmd, final.workdir);
else fail(`${dockerfilePath}: stage ${final.name} has no CMD or ENTRYPOINT`);

const services = Object.entries(compose.services ?? {});
const built = services.filter(([, s]) => s.build);
const builtImages = new Set(built.map(([, s]) => s.image).filter(Boolean));
const scripts = new Map();
for (const [name, svc] of services) {
  if (!svc.build && !builtImages.has(svc.image)) {
    skip(`service ${name}: image ${svc.image}, not built from ${dockerfilePath}`);
    continue;
  }
  const toList = (v) => (v === undefined || v === null ? undefined : Array.isArray(v) ? v : ['/bin/sh', '-c', v]);
  const entrypoint = toList(svc.entrypoint) ?? final.entrypoint ?? [];
  const command = toList(svc.command) ?? (svc.entrypoint !== undefined ? [] : (final.cmd ?? []));
  scripts.set(name, checkCommand(`service ${name}`, [...entrypoint, ...command], svc.working_dir ?? final.workdir));
}

// ---- Health checks: inline code compiles and asks the port the service listens on.
console.log('containers: health checks');
const envOf = (svc) => {
  const env = { ...final.env };
  const e = svc?.environment ?? {};
  for (const [k, v] of Array.isArray(e) ? e.map((kv) => kv.split(/=(.*)/s)) : Object.entries(e)) env[k] = v === null ? '' : String(v);
  return env;
};
function checkHealth(label, test, env) {
  const argv = Array.isArray(test) ? test.filter((a) => a !== 'CMD') : ['/bin/sh', '-c', test];
  const { code } = nodeScript(argv);
  if (code === undefined) return skip(`${label}: \`${argv.join(' ')}\` is not inline node code`);
  try {
    new vm.Script(code);
  } catch (e) {
    return fail(`${label}: the node -e code does not compile (${e.message})`);
  }
  const literal = [...code.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => m[1]);
  const listening = [env.PORT, env.HEALTH_PORT].filter(Boolean);
  const asks = literal.length ? literal : [...code.matchAll(/process\.env\.(\w+)/g)].map((m) => env[m[1]]).filter(Boolean);
  if (!asks.some((p) => listening.includes(p)))
    return fail(
      `${label}: asks port ${asks.join('/') || '(none)'}, the service listens on ${listening.join('/') || '(no PORT or HEALTH_PORT)'}`,
    );
  ok(`${label}: node -e compiles, asks port ${asks.join('/')} (PORT/HEALTH_PORT: ${listening.join('/')})`);
}
if (final.healthcheck) checkHealth(`${dockerfilePath} HEALTHCHECK`, final.healthcheck, final.env);
else fail(`${dockerfilePath}: stage ${final.name} has no HEALTHCHECK`);
for (const [name, svc] of services) {
  if (!svc.healthcheck?.test && svc.restart === 'no') {
    ok(`service ${name}: runs once (restart: no), no healthcheck needed`);
    continue;
  }
  if (!svc.healthcheck?.test) {
    fail(`service ${name}: no healthcheck`);
    continue;
  }
  if (scripts.has(name)) checkHealth(`service ${name}`, svc.healthcheck.test, envOf(svc));
  else ok(`service ${name}: has a healthcheck (\`${[].concat(svc.healthcheck.test).join(' ')}\`)`);
}

// ---- Environment: what the compose file passes must pass the service's own config schema.
console.log('containers: environment');
// command file -> [module of the built output, exported zod schema of its environment]
const schemas = {
  'services/processor/dist/main.js': ['shared/dist/index.js', 'processorEnvSchema'],
  'services/sequencer/dist/main.js': ['shared/dist/index.js', 'sequencerEnvSchema'],
  'services/ingest/dist/main.js': ['services/ingest/dist/config.js', 'ingestEnvSchema'],
};
const rawCompose = readFileSync(composePath, 'utf8');
const fallbacks = Object.fromEntries(
  [...rawCompose.matchAll(/^\s*(\w+):\s*"?\$\{(\w+):-([^}]*)\}"?\s*$/gm)]
    .filter(([, key, variable]) => key === variable)
    .map(([, key, , value]) => [key, value]),
);
for (const [name, repoPath] of scripts) {
  if (!schemas[repoPath]) {
    skip(`service ${name}: no config schema known for ${repoPath}`);
    continue;
  }
  const [modulePath, schemaName] = schemas[repoPath];
  const schema = existsSync(modulePath) ? (await import(pathToFileURL(posix.resolve(modulePath)).href))[schemaName] : undefined;
  if (!schema?.safeParse) {
    fail(`service ${name}: ${modulePath} exports no ${schemaName}`);
    continue;
  }
  const env = Object.fromEntries(Object.entries(envOf(compose.services[name])).filter(([, v]) => v !== ''));
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    fail(`service ${name}: ${schemaName} rejects ${parsed.error.issues.map((i) => `${String(i.path[0])} (${i.message})`).join(', ')}`);
    continue;
  }
  const defaults = schema.parse({});
  const drift = Object.entries(fallbacks)
    .filter(([k, v]) => k in defaults && v !== '' && String(defaults[k]) !== v)
    .map(([k, v]) => `${k}: compose \${${k}:-${v}}, service default ${defaults[k]}`);
  if (drift.length) fail(`service ${name}: fallbacks differ from the service defaults: ${drift.join('; ')}`);
  else ok(`service ${name}: ${Object.keys(env).length} variables pass ${schemaName}; every \${VAR:-default} matches its default`);
}

finish('containers');
