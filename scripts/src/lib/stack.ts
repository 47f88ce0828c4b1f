/**
 * Local topology for the scripts: a throwaway redis-server on a free loopback port, and the
 * pipeline's services (processors, sequencers, HTTP ingest) as child processes that can be
 * killed, paused, resumed and restarted one by one.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { connect, isClusterUrl, keysFor, redactRedisUrl, type RedisClient } from '@inorder/shared';

/** The repository root (this file is scripts/src/lib/stack.ts or scripts/dist/lib/stack.js). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** True when this module runs from TypeScript sources (tsx) rather than a build. */
export const RUNNING_FROM_SOURCE = import.meta.url.endsWith('.ts');

/** Every child process started through this module, so that an exiting script leaves none behind. */
const children = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Last resort (an uncaught error, process.exit): nothing started here outlives the script.
    process.once('exit', () => {
      for (const c of children) {
        try {
          c.kill('SIGCONT');
          c.kill('SIGKILL');
        } catch {
          // already gone
        }
      }
    });
  }
}

function alive(child: ChildProcess | undefined): boolean {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

function exitOf(child: ChildProcess): Promise<ExitInfo> {
  if (!alive(child)) return Promise.resolve({ code: child.exitCode, signal: child.signalCode as NodeJS.Signals | null });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Sends SIGTERM (after SIGCONT, in case it is paused), then SIGKILL if it has not exited within `graceMs`. */
async function terminate(child: ChildProcess, graceMs: number): Promise<ExitInfo> {
  const exited = exitOf(child);
  if (!alive(child)) return exited;
  child.kill('SIGCONT');
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (alive(child)) child.kill('SIGKILL');
  }, graceMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, message: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`${message} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

// ---------------------------------------------------------------------------------------------
// redis-server

/** redis-server is not installed: the message says how to install it. */
export class RedisNotInstalledError extends Error {
  constructor() {
    super(
      'redis-server was not found on PATH, and REDIS_URL is not set.\n' +
        '  Install Redis:  sudo apt-get install redis-server   (Debian/Ubuntu)\n' +
        '                  brew install redis                  (macOS)\n' +
        '  or point REDIS_URL at a running server, e.g. REDIS_URL=redis://127.0.0.1:6379',
    );
    this.name = 'RedisNotInstalledError';
  }
}

export function redisServerInstalled(): boolean {
  return !spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error;
}

/** True when something accepts TCP connections on the loopback `port`. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

export interface LocalRedis {
  readonly url: string;
  readonly port: number;
  /** the current server process (changes on restart; undefined while stopped) */
  readonly pid: number | undefined;
  /** SIGTERM and wait; removes the data directory */
  stop(): Promise<void>;
  /** SIGKILL and wait; keeps the data directory, so `restart()` reloads the append-only file */
  kill(): Promise<void>;
  /** SIGSTOP: the server stops answering, connections stay open */
  pause(): void;
  /** SIGCONT */
  resume(): void;
  /** stops it if running (SIGTERM) and starts it again on the same port and directory */
  restart(): Promise<void>;
}

/** Answers true when a redis-server on `port` replies to PING. */
async function ping(port: number): Promise<boolean> {
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/**
 * Starts a redis-server of its own on a free loopback port, in a temporary directory, in its own
 * process group (a Ctrl-C in the terminal reaches the script, which stops it last). Throws
 * RedisNotInstalledError when redis-server is missing.
 */
export async function startLocalRedis(opts: { appendonly?: boolean } = {}): Promise<LocalRedis> {
  if (!redisServerInstalled()) throw new RedisNotInstalledError();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'inorder-redis-'));
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    mkdirSync(dir, { recursive: true });
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--logfile', '', '--loglevel', 'warning'];
    args.push(...(opts.appendonly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']));
    const started = spawn('redis-server', args, { stdio: 'ignore', detached: true });
    track(started);
    child = started;
    await until(async () => {
      if (!alive(started)) throw new Error(`redis-server on port ${port} exited at start (code ${started.exitCode})`);
      return ping(port);
    }, 10_000, `redis-server on port ${port} did not answer`);
  };

  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child && alive(child) ? child.pid : undefined;
    },
    async stop() {
      if (child) await terminate(child, 10_000);
      rmSync(dir, { recursive: true, force: true });
    },
    async kill() {
      if (!child || !alive(child)) return;
      const exited = exitOf(child);
      child.kill('SIGKILL');
      await exited;
    },
    pause() {
      if (child && alive(child)) child.kill('SIGSTOP');
    },
    resume() {
      if (child && alive(child)) child.kill('SIGCONT');
    },
    async restart() {
      if (child) await terminate(child, 10_000);
      await launch();
    },
  };
}

/**
 * A connection for a one-shot script (verify, stats): fails fast with a clear message when the
 * server cannot be reached, instead of retrying forever as the services do.
 */
export async function connectOnce(url: string): Promise<RedisClient> {
  if (isClusterUrl(url)) return connectClusterOnce(url);
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, connectTimeout: 5000, retryStrategy: (times) => (times > 3 ? null : 200) });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (cause) {
    redis.disconnect();
    throw new Error(`cannot reach Redis at ${redactRedisUrl(url)}: ${(cause as Error).message}`, { cause });
  }
  return redis;
}

/** connectOnce for a Redis Cluster: the first PING must answer within 5 s (slots discovered). */
async function connectClusterOnce(url: string): Promise<RedisClient> {
  const redis = connect(url, { name: 'inorder-scripts' });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no answer within 5000 ms')), 5000))),
    ]);
  } catch (cause) {
    redis.disconnect();
    throw new Error(`cannot reach Redis at ${redactRedisUrl(url)}: ${(cause as Error).message}`, { cause });
  } finally {
    clearTimeout(timer);
  }
  return redis;
}

// ---------------------------------------------------------------------------------------------
// services

export type ServiceRole = 'processor' | 'sequencer' | 'ingest';

export interface ServiceHandle {
  /** e.g. "processor-1" */
  readonly name: string;
  readonly role: ServiceRole;
  /** the current process (changes on restart) */
  readonly pid: number;
  /** the instance id the service logs (owner of its claims or lease); undefined until logged */
  readonly instance: string | undefined;
  /** its JSON log lines (stdout and stderr), the most recent few thousand */
  readonly logs: string[];
  /** resolves when the current process exits */
  readonly exited: Promise<ExitInfo>;
  readonly running: boolean;
  /** sends a signal to the current process (SIGKILL, SIGSTOP, SIGCONT, SIGTERM ...) */
  kill(signal?: NodeJS.Signals): void;
  /** stops the current process if it runs (SIGTERM, then SIGKILL after a grace) and starts a new one; resolves when it is ready */
  restart(): Promise<void>;
  /** resolves when the current process has logged that it started */
  ready(timeoutMs?: number): Promise<void>;
  /** SIGTERM, and SIGKILL if it has not exited within `graceMs` */
  stop(graceMs?: number): Promise<ExitInfo>;
}

export interface StartServicesOptions {
  redisUrl: string;
  pipeline: string;
  processors: number;
  sequencers: number;
  partition?: number;
  prefix?: string;
  /** extra environment for every service (WORK_MS, CONCURRENCY, ...) */
  env?: Record<string, string>;
  /** run from TypeScript sources through tsx even when a build exists */
  fromSource?: boolean;
  /** also start the HTTP ingest on this loopback port (needs services/ingest); it declares the pipeline as strict unless PIPELINES is set */
  ingestPort?: number;
  /** wait until every service has logged that it started (default true) */
  waitReady?: boolean;
}

export interface ServiceGroup {
  readonly processors: ServiceHandle[];
  readonly sequencers: ServiceHandle[];
  readonly ingest: ServiceHandle | undefined;
  readonly all: ServiceHandle[];
  /** the sequencer that holds the leader lease, from the fence owner in the meta hash */
  leader(): Promise<ServiceHandle | undefined>;
  /** stops every service (SIGTERM, SIGKILL after a grace) and closes the group's connection */
  stop(graceMs?: number): Promise<void>;
}

const MAX_LOG_LINES = 5000;
const STARTED = /"message":"(processor started|sequencer started|[^"]*listening[^"]*)"/i;

/** How a service is run: the build when there is one (and the caller is not on sources), else tsx. */
export function serviceCommand(role: ServiceRole, fromSource = RUNNING_FROM_SOURCE): string[] {
  const dist = join(ROOT, 'services', role, 'dist', 'main.js');
  const sharedDist = join(ROOT, 'shared', 'dist', 'index.js');
  if (!fromSource && existsSync(dist) && existsSync(sharedDist)) return [dist];
  return ['--import', 'tsx', '--conditions=@inorder/source', join(ROOT, 'services', role, 'src', 'main.ts')];
}

/** True when the service can be started (its build or its sources exist). */
export function serviceAvailable(role: ServiceRole): boolean {
  return existsSync(join(ROOT, 'services', role, 'dist', 'main.js')) || existsSync(join(ROOT, 'services', role, 'src', 'main.ts'));
}

class ServiceProcess implements ServiceHandle {
  readonly logs: string[] = [];
  private child!: ChildProcess;
  private exit!: Promise<ExitInfo>;
  private started = false;
  private instanceId: string | undefined;
  private partial = '';

  constructor(
    readonly name: string,
    readonly role: ServiceRole,
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv,
    /** an extra readiness check (the ingest: its port accepts connections) */
    private readonly probe?: () => Promise<boolean>,
  ) {
    this.spawn();
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get instance(): string | undefined {
    return this.instanceId;
  }

  get exited(): Promise<ExitInfo> {
    return this.exit;
  }

  get running(): boolean {
    return alive(this.child);
  }

  private spawn(): void {
    this.started = false;
    this.instanceId = undefined;
    this.partial = '';
    // Own process group: a Ctrl-C in the terminal reaches the script, which stops services in order.
    const child = spawn(process.execPath, this.args, { cwd: ROOT, env: this.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    track(child);
    this.child = child;
    this.exit = exitOf(child);
    child.stdout!.on('data', (chunk: Buffer) => this.collect(chunk));
    child.stderr!.on('data', (chunk: Buffer) => this.collect(chunk));
  }

  private collect(chunk: Buffer): void {
    const lines = (this.partial + chunk.toString()).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line) continue;
      this.logs.push(line);
      if (this.instanceId === undefined && line.includes('"instance"')) {
        try {
          const parsed = JSON.parse(line) as { instance?: unknown };
          if (typeof parsed.instance === 'string') this.instanceId = parsed.instance;
        } catch {
          // not a JSON line
        }
      }
      if (!this.started && STARTED.test(line)) this.started = true;
    }
    if (this.logs.length > MAX_LOG_LINES) this.logs.splice(0, this.logs.length - MAX_LOG_LINES);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (alive(this.child)) this.child.kill(signal);
  }

  async ready(timeoutMs = 30_000): Promise<void> {
    await until(async () => {
      if (this.started) return true;
      if (!alive(this.child)) {
        throw new Error(`${this.name} exited before it started:\n${this.logs.slice(-10).join('\n')}`);
      }
      if (this.probe && (await this.probe())) this.started = true;
      return this.started;
    }, timeoutMs, `${this.name} did not log that it started`);
  }

  async restart(): Promise<void> {
    await this.stop();
    this.spawn();
    await this.ready();
  }

  stop(graceMs = 10_000): Promise<ExitInfo> {
    return terminate(this.child, graceMs);
  }
}

/**
 * Starts processors and sequencers (and the HTTP ingest when asked) of one pipeline as child
 * processes, each with settings from the environment: the caller's environment, then REDIS_URL,
 * PIPELINE, PARTITION, KEY_PREFIX, then `env`.
 */
export async function startServices(opts: StartServicesOptions): Promise<ServiceGroup> {
  const partition = opts.partition ?? 0;
  const prefix = opts.prefix ?? 'inorder';
  const inherited = { ...process.env };
  // One port cannot serve several services; set it per service through `env` if needed.
  delete inherited.HEALTH_PORT;
  const baseEnv: NodeJS.ProcessEnv = {
    ...inherited,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    REDIS_URL: opts.redisUrl,
    PIPELINE: opts.pipeline,
    PARTITION: String(partition),
    KEY_PREFIX: prefix,
    ...opts.env,
  };
  const make = (role: ServiceRole, index: number, extra: Record<string, string> = {}, probe?: () => Promise<boolean>): ServiceHandle =>
    new ServiceProcess(`${role}-${index}`, role, serviceCommand(role, opts.fromSource), { ...baseEnv, ...extra }, probe);

  const processors = Array.from({ length: opts.processors }, (_, i) => make('processor', i + 1));
  const sequencers = Array.from({ length: opts.sequencers }, (_, i) => make('sequencer', i + 1));
  const ingest =
    opts.ingestPort !== undefined
      ? make('ingest', 1, { PORT: String(opts.ingestPort), HOST: '127.0.0.1', PIPELINES: baseEnv.PIPELINES ?? `${opts.pipeline}:strict` }, () => portOpen(opts.ingestPort!))
      : undefined;
  const all = [...processors, ...sequencers, ...(ingest ? [ingest] : [])];
  let redis: RedisClient | undefined;

  const group: ServiceGroup = {
    processors,
    sequencers,
    ingest,
    all,
    async leader() {
      redis ??= connect(opts.redisUrl, { name: 'inorder-scripts-stack' });
      const keys = keysFor(opts.pipeline, partition, prefix);
      const [held, fence] = await Promise.all([redis.exists(keys.leader), redis.hget(keys.meta, 'fence')]);
      if (held !== 1 || !fence) return undefined;
      const owner = fence.slice(0, fence.lastIndexOf(':'));
      return sequencers.find((s) => s.running && s.instance === owner);
    },
    async stop(graceMs = 10_000) {
      // All at once: each stops gracefully on its own (processors return open claims,
      // the leader releases its lease), and nothing here depends on their order.
      await Promise.all(all.map((s) => s.stop(graceMs)));
      redis?.disconnect();
      redis = undefined;
    },
  };

  if (opts.waitReady ?? true) {
    try {
      await Promise.all(all.map((s) => s.ready()));
    } catch (error) {
      await group.stop(2000);
      throw error;
    }
  }
  return group;
}
