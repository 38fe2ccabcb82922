import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { listenOnLoopback } from './mock-service.js';
import type { LocalTlsCertificate } from './tls-certificate.js';

/** Azurite's well-known development account. */
export const AZURITE_ACCOUNT_NAME = 'devstoreaccount1';
/** The well-known (public) key of Azurite's development account. Not a secret. */
export const AZURITE_ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** Options of {@link startAzurite}. */
export interface StartAzuriteOptions {
  /** The certificate and key Azurite serves HTTPS with (Bearer tokens need HTTPS), e.g. `entra.tls`. */
  tls: LocalTlsCertificate;
  /** Port for the Blob service. @default a free port */
  blobPort?: number | undefined;
  /** The path of Azurite's `azurite-blob` script. @default resolved from the `azurite` package installed next to your project */
  azuriteBlobScript?: string | undefined;
  /** How long to wait for Azurite to listen, in milliseconds. @default 30000 */
  startTimeoutMs?: number | undefined;
}

/** A running Azurite Blob service. */
export interface RunningAzurite {
  /** `https://127.0.0.1:PORT/devstoreaccount1`: the account URL for `BlobServiceClient`. */
  blobEndpoint: string;
  /** The development account's name, `devstoreaccount1`. */
  accountName: string;
  /** The public development key, for seeding data with `StorageSharedKeyCredential`. */
  accountKey: string;
  /** Stops Azurite and removes its working folder. */
  stop(): Promise<void>;
}

/** Runs Azurite's script in a process that exits (removing its folder, the TLS key) when its stdin closes: when this process ends, even killed. */
const WATCHDOG = [
  "const folder = process.env.SKYPORTEN_AZURITE_FOLDER;",
  "process.on('exit', () => { try { require('node:fs').rmSync(folder, { recursive: true, force: true }); } catch {} });",
  "process.on('SIGTERM', () => process.exit(0));",
  "process.stdin.on('end', () => process.exit(0)).on('error', () => process.exit(0)).resume();",
  'require(process.argv[1]);',
].join('\n');

async function freePort(): Promise<number> {
  const probe = await listenOnLoopback(createServer() as unknown as Server);
  return probe.close().then(() => probe.port);
}

function resolveBlobScript(): string {
  try {
    const packageJson = createRequire(pathToFileURL(join(process.cwd(), 'index.js'))).resolve('azurite/package.json');
    return join(dirname(packageJson), 'dist', 'src', 'blob', 'main.js');
  } catch {
    throw new Error('startAzurite: the "azurite" package is not installed. Run `npm i -D azurite`, or pass azuriteBlobScript.');
  }
}

/** Starts Azurite's Blob service (the `azurite` npm package, as a child process) on `https://127.0.0.1:<port>` with `--oauth basic`, in memory. */
export async function startAzurite(options: StartAzuriteOptions): Promise<RunningAzurite> {
  const script = options.azuriteBlobScript ?? resolveBlobScript();
  const port = options.blobPort ?? (await freePort());
  const workFolder = mkdtempSync(join(tmpdir(), 'skyporten-azurite-'));
  const [certPath, keyPath] = ['cert.pem', 'key.pem'].map((name) => join(workFolder, name)) as [string, string];
  writeFileSync(certPath, options.tls.cert);
  writeFileSync(keyPath, options.tls.key, { mode: 0o600 });
  const flags = ['--oauth', 'basic', '--cert', certPath, '--key', keyPath, '--inMemoryPersistence', '--skipApiVersionCheck', '--disableProductStyleUrl'];
  const listen = ['--blobHost', '127.0.0.1', '--blobPort', String(port), '--silent'];
  const env = { ...process.env, AZURITE_ACCOUNTS: undefined, SKYPORTEN_AZURITE_FOLDER: workFolder };
  const child = spawn(process.execPath, ['--input-type=commonjs', '-e', WATCHDOG, script, ...flags, ...listen], { cwd: workFolder, stdio: 'pipe', env });
  let output = '';
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`startAzurite: Azurite did not start within ${timeoutMs} ms.\n${output}`)), timeoutMs);
      const onData = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (/successfully listens on https?:\/\//.test(output)) resolve();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`startAzurite: Azurite exited (code ${String(code)}) before listening.\n${output}`)));
    }).finally(() => clearTimeout(timer));
  } catch (error) {
    child.kill();
    rmSync(workFolder, { recursive: true, force: true });
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    blobEndpoint: `https://127.0.0.1:${port}/${AZURITE_ACCOUNT_NAME}`,
    accountName: AZURITE_ACCOUNT_NAME,
    accountKey: AZURITE_ACCOUNT_KEY,
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(killTimer);
        }
        rmSync(workFolder, { recursive: true, force: true });
      })()),
  };
}
