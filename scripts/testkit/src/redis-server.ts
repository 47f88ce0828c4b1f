import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { isRunning, killOnExit, terminate } from './children.js';
import { freePort } from './ports.js';
import { waitFor } from './wait-for.js';

/** redis-server is not on PATH: the message says how to install it. */
export class RedisNotInstalledError extends Error {
  override name = 'RedisNotInstalledError';

  constructor() {
    super(
      'redis-server is not on PATH. Install it (Debian/Ubuntu: sudo apt-get install redis-server; ' +
        'macOS: brew install redis) and run again.',
    );
  }
}

/** Throws RedisNotInstalledError when redis-server is not on PATH. */
export function assertRedisInstalled(): void {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error) throw new RedisNotInstalledError();
}

export interface RedisServerOptions {
  /** keep an append-only file so that a restart keeps the data (fsync on every write) */
  appendonly?: boolean;
  /** requirepass: clients must AUTH with it (the URL and the test's own clients carry it) */
  password?: string;
  /** the most clients the server accepts at once */
  maxclients?: number;
  /** start as a replica of the server on this loopback port (replicaof) */
  replicaOf?: number;
  /** also listen with TLS on a second port (`tlsUrl`); the plain port stays for the test's own clients */
  tls?: RedisServerTls;
  /**
   * run it in a process group of its own, so that a Ctrl-C in the terminal reaches only the tool
   * that started it, which stops it last (the lab's tools)
   */
  detached?: boolean;
}

export interface RedisServerTls {
  /** PEM files: the server's certificate and key, and the CA that client certificates must chain to */
  certFile: string;
  keyFile: string;
  caFile: string;
  /** require a client certificate (tls-auth-clients yes) */
  authClients?: boolean;
}

/**
 * A redis-server of the test's (or the lab tool's) own, on a free loopback port, in a temporary
 * directory: kill, pause, resume and restart it at will. Never touches the shared server on 6379.
 * It does not outlive this process (see killOnExit).
 */
export class RedisServer {
  private process: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'inorder-redis-'));

  private constructor(
    readonly port: number,
    private readonly options: RedisServerOptions,
    readonly tlsPort: number | undefined,
  ) {}

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    assertRedisInstalled();
    const port = await freePort();
    let tlsPort: number | undefined;
    while (options.tls && (tlsPort === undefined || tlsPort === port)) tlsPort = await freePort();
    const server = new RedisServer(port, options, tlsPort);
    await server.launch();
    return server;
  }

  get url(): string {
    return `redis://${this.credentials}127.0.0.1:${this.port}`;
  }

  /** rediss:// to the TLS port (only with the `tls` option) */
  get tlsUrl(): string {
    if (this.tlsPort === undefined) throw new Error('this redis-server was started without TLS');
    return `rediss://${this.credentials}127.0.0.1:${this.tlsPort}`;
  }

  private get credentials(): string {
    return this.options.password === undefined ? '' : `:${encodeURIComponent(this.options.password)}@`;
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  private async launch(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--dir',
      this.dir,
      '--logfile',
      '',
      '--loglevel',
      'warning',
    ];
    if (this.options.appendonly) args.push('--appendonly', 'yes', '--appendfsync', 'always');
    else args.push('--appendonly', 'no');
    if (this.options.password !== undefined) args.push('--requirepass', this.options.password);
    if (this.options.maxclients !== undefined) args.push('--maxclients', String(this.options.maxclients));
    // A replica attaching (replicaOf) syncs at once rather than after the default 5 s delay.
    args.push('--repl-diskless-sync-delay', '0');
    if (this.options.replicaOf !== undefined) args.push('--replicaof', '127.0.0.1', String(this.options.replicaOf));
    const tls = this.options.tls;
    if (tls) {
      args.push(
        '--tls-port',
        String(this.tlsPort),
        '--tls-cert-file',
        tls.certFile,
        '--tls-key-file',
        tls.keyFile,
        '--tls-ca-cert-file',
        tls.caFile,
        '--tls-auth-clients',
        tls.authClients ? 'yes' : 'no',
      );
    }
    const child = spawn('redis-server', args, { stdio: 'ignore', detached: this.options.detached === true });
    killOnExit(child);
    this.process = child;
    const state = await waitFor(async () => (!isRunning(child) ? 'exited' : (await this.ping()) && 'up'), {
      timeoutMs: 10_000,
      message: `redis-server on port ${this.port} did not start`,
    });
    if (state === 'exited')
      throw new Error(`redis-server on port ${this.port} exited at start (${child.signalCode ?? `code ${child.exitCode}`})`);
  }

  async ping(): Promise<boolean> {
    const probe = new Redis(this.port, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
      password: this.options.password,
    });
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

  /** A plain client for the test's own reads and writes. */
  client(): Redis {
    const redis = new Redis(this.port, '127.0.0.1', { maxRetriesPerRequest: null, password: this.options.password });
    redis.on('error', () => {});
    return redis;
  }

  pause(): void {
    this.process?.kill('SIGSTOP');
  }

  resume(): void {
    this.process?.kill('SIGCONT');
  }

  /**
   * Stops the server (SIGTERM: with AOF on, everything written is on disk), and kills it
   * (SIGKILL) if it has not exited within `graceMs`.
   */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.process;
    if (!child || !isRunning(child)) return;
    await terminate(child, graceMs);
    this.process = undefined;
  }

  /** Stops and starts it again on the same port and directory. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  /**
   * Saves the dataset now (SAVE) and keeps a copy of it: what a replica lagging behind, or the last
   * snapshot before a crash, would hold. Returns the copy's path, for `restore`.
   */
  async snapshot(): Promise<string> {
    const client = this.client();
    try {
      await client.save();
    } finally {
      client.disconnect();
    }
    const copy = join(this.dir, `snapshot-${Date.now()}-${Math.random().toString(36).slice(2)}.rdb`);
    copyFileSync(join(this.dir, 'dump.rdb'), copy);
    return copy;
  }

  /**
   * Kills the server (SIGKILL: nothing saved) and starts it again from an older snapshot: every
   * write since that snapshot is lost, as after a failover to a lagging replica.
   */
  async restore(snapshot: string): Promise<void> {
    const child = this.process;
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    this.process = undefined;
    copyFileSync(snapshot, join(this.dir, 'dump.rdb'));
    await this.launch();
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
