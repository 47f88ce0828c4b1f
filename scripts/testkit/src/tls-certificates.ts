import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** PEM files made for one test run: a CA, a server certificate for 127.0.0.1 and a client certificate. */
export interface TestCertificates {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** a CA that signed nothing here: trusting only it must fail */
  otherCaFile: string;
}

function openssl(dir: string, args: string[]): void {
  const run = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (run.error || run.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${run.error?.message ?? run.stderr}`);
}

/** Why certificates cannot be made here (no openssl), or undefined. */
export function opensslMissing(): string | undefined {
  return spawnSync('openssl', ['version']).error ? 'openssl is not on PATH' : undefined;
}

/**
 * Why redis-server cannot serve TLS here, or undefined when it can: a build without TLS refuses
 * the TLS settings and exits at once, a build with TLS keeps running (and is killed after 1.5 s).
 */
export function redisTlsMissing(certs: TestCertificates, port: number, dir: string): string | undefined {
  const run = spawnSync(
    'redis-server',
    [
      '--port',
      '0',
      '--bind',
      '127.0.0.1',
      '--tls-port',
      String(port),
      '--tls-cert-file',
      certs.serverCertFile,
      '--tls-key-file',
      certs.serverKeyFile,
      '--tls-ca-cert-file',
      certs.caFile,
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    { encoding: 'utf8', timeout: 1500, killSignal: 'SIGKILL' },
  );
  if (run.error && (run.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') return `redis-server did not run: ${run.error.message}`;
  if (run.status !== null && !/Ready to accept connections/.test(run.stdout))
    return `redis-server refused the TLS settings: ${`${run.stdout}${run.stderr}`.trim().split('\n').slice(-3).join(' ')}`;
  return undefined;
}

/** A self-signed CA certificate and key, `name`.crt and `name`.key in `dir`. */
function selfSignedCa(dir: string, name: string): void {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-subj',
    `/CN=${name}`,
    '-days',
    '2',
  ]);
}

/** A key and a certificate signed by test-ca with the X.509 extensions `ext`. */
function signedByTestCa(dir: string, name: string, ext: string): void {
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'test-ca.crt',
    '-CAkey',
    'test-ca.key',
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  ]);
}

/** Generates the certificates with openssl in `dir` (valid for two days). */
export function makeCertificates(dir: string): TestCertificates {
  selfSignedCa(dir, 'test-ca');
  selfSignedCa(dir, 'other-ca');
  const signed = (name: string, ext: string): void => signedByTestCa(dir, name, ext);
  signed('server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  signed('client', 'extendedKeyUsage=clientAuth\n');
  return {
    caFile: join(dir, 'test-ca.crt'),
    serverCertFile: join(dir, 'server.crt'),
    serverKeyFile: join(dir, 'server.key'),
    clientCertFile: join(dir, 'client.crt'),
    clientKeyFile: join(dir, 'client.key'),
    otherCaFile: join(dir, 'other-ca.crt'),
  };
}
