// Publishes to and pulls from Pub/Sub with Google credentials from Skyporten (@skyporten/gcp).
//
// Local mode (default), in two halves that are kept apart on purpose:
// 1. The credential path: a mock Skyporten issuer and mock GCP STS + IAM Credentials on 127.0.0.1. The access
//    token for the Pub/Sub scope is obtained through STS and service-account impersonation, which the mock checks;
//    the mock's tokeninfo then says which service account and scopes the token carries; an organisation the
//    data provider did not bind is refused.
// 2. Pub/Sub itself: Debian's google-cloud-cli-pubsub-emulator, when it is installed (it needs Java). The
//    emulator does not check credentials and the client sends it none; this half shows the messaging only.
// Real mode: set PUBSUB_TOPIC and SKYPORTEN_GCP_AUDIENCE (and the Maskinporten variables); see README.md.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { PubSub, type ClientConfig, type Message } from '@google-cloud/pubsub';
import { createMaskinportenClient } from '@skyporten/core';
import { skyportenCredentials } from '@skyporten/gcp';
import { createMockGcp, createMockSkyporten } from '@skyporten/testing';
import { OAuth2Client } from 'google-auth-library';

const SCOPE = 'entur:skyporten.demo';
const RESOURCE = 'https://skyporten.example.org';
const ORGANISATION_NUMBER = '991825827';
const UNBOUND_ORGANISATION_NUMBER = '974760673';
const SERVICE_ACCOUNT = 'skyporten-subscriber@data-provider.iam.gserviceaccount.com';
const PUBSUB_SCOPE = 'https://www.googleapis.com/auth/pubsub';
const PROJECT = 'data-provider';
const PROJECT_NUMBER = '123456789012';
const POOL_ID = 'skyporten';
const TOPIC = 'departures';
const SUBSCRIPTION = 'departures-skyporten';
/** Where Debian's google-cloud-cli-pubsub-emulator puts the emulator; PUBSUB_EMULATOR_BIN overrides it. */
const DEBIAN_EMULATOR = '/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator';

/** What the local run did, for its printout and its test. Holds no token. */
export interface LocalRunResult {
  credential: {
    /** The length of the Pub/Sub access token obtained (the token itself is not kept). */
    tokenLength: number;
    /** What the mock's tokeninfo says about that token: the service account it is for, its scopes and lifetime left. */
    tokenInfo: { email: string | undefined; scopes: string[]; expiresInSeconds: number };
    /** The mock's request log: service, status and what it recorded (no tokens). */
    requests: { service: string; status: number; details?: Record<string, unknown> }[];
    /** The error an organisation without an IAM binding got. */
    unboundError: string;
  };
  /** The emulator half: the message pulled back, or why it was skipped. */
  emulator: { ran: true; published: string; pulled: string; attributes: Record<string, string> } | { ran: false; skipped: string };
}

/** The emulator's start command, or why it cannot run here. */
export function findEmulator(env: NodeJS.ProcessEnv = process.env): { command: string } | { skipped: string } {
  const command = env.PUBSUB_EMULATOR_BIN ?? DEBIAN_EMULATOR;
  if (!existsSync(command)) {
    return { skipped: `no Pub/Sub emulator at ${command} (apt-get install google-cloud-cli-pubsub-emulator, or set PUBSUB_EMULATOR_BIN)` };
  }
  if (spawnSync('java', ['-version'], { stdio: 'ignore' }).status !== 0) return { skipped: 'the Pub/Sub emulator needs Java, and `java` is not on PATH' };
  return { command };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts the emulator on a free loopback port and waits for "Server started". */
async function startEmulator(command: string, timeoutMs = 60_000): Promise<{ host: string; stop(): Promise<void> }> {
  const port = await freePort();
  // Its own process group, so stop() ends the emulator (the script execs java) and nothing else.
  const child = spawn(command, ['--host=127.0.0.1', `--port=${port}`], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
    await exited;
  };
  let output = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`The Pub/Sub emulator did not start within ${timeoutMs} ms:\n${output.slice(-2000)}`)), timeoutMs);
      const watch = (chunk: Buffer): void => {
        output += chunk.toString();
        if (/Server started, listening on/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', watch);
      child.stderr.on('data', watch);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`The Pub/Sub emulator exited (${String(code)}) before it started:\n${output.slice(-2000)}`));
      });
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { host: `127.0.0.1:${port}`, stop };
}

/** Waits for one message on `subscription`, acknowledges it and closes the subscriber. */
async function pullOne(pubsub: PubSub, subscription: string, timeoutMs = 30_000): Promise<Message> {
  const subscriber = pubsub.subscription(subscription);
  try {
    return await new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`No message on ${subscription} within ${timeoutMs} ms.`)), timeoutMs);
      subscriber.once('message', (message: Message) => {
        clearTimeout(timer);
        message.ack();
        resolve(message);
      });
      subscriber.once('error', (error: Error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  } finally {
    subscriber.removeAllListeners();
    await subscriber.close();
  }
}

/**
 * @google-cloud/pubsub 5 carries its own google-auth-library 10, @skyporten/gcp builds on 11: the client is the
 * same shape at run time (`getRequestHeaders()` returning `Headers`), but TypeScript sees two classes.
 */
function asPubSubAuthClient(client: ReturnType<typeof skyportenCredentials>): NonNullable<ClientConfig['authClient']> {
  return client as unknown as NonNullable<ClientConfig['authClient']>;
}

/** Against real Google Cloud: everything comes from the environment (see README.md). */
async function runReal(topic: string): Promise<void> {
  const authClient = asPubSubAuthClient(skyportenCredentials({ scopes: [PUBSUB_SCOPE], logger: console }));
  const pubsub = new PubSub({ authClient, projectId: /^projects\/([^/]+)\//.exec(topic)?.[1] ?? PROJECT });
  try {
    const id = await pubsub.topic(topic).publishMessage({ data: Buffer.from(`Hello from ${ORGANISATION_NUMBER} at ${new Date().toISOString()}`) });
    console.log(`Published message ${id} to ${topic}.`);
    const subscription = process.env.PUBSUB_SUBSCRIPTION;
    if (subscription) {
      const message = await pullOne(pubsub, subscription);
      console.log(`Pulled from ${subscription}: ${message.data.toString()}`);
    }
  } finally {
    await pubsub.close();
  }
}

/** Half 1: the Pub/Sub-scoped access token through the mock GCP STS and IAM Credentials, and a refused organisation. */
async function credentialPath(): Promise<LocalRunResult['credential']> {
  const issuer = await createMockSkyporten();
  const registered = await issuer.registerClient({ scopes: [SCOPE], orgNo: ORGANISATION_NUMBER });
  const stranger = await issuer.registerClient({ scopes: [SCOPE], orgNo: UNBOUND_ORGANISATION_NUMBER });
  // The member the data provider binds, per Skyporten's attribute mapping: client::<consumer ID>::<scope>.
  const member = `principalSet://iam.googleapis.com/projects/${PROJECT_NUMBER}/locations/global/workloadIdentityPools/${POOL_ID}/attribute.clientaccess/client::${registered.consumerId}::${SCOPE}`;
  const gcp = await createMockGcp({
    issuer,
    projectNumber: PROJECT_NUMBER,
    poolId: POOL_ID,
    allowedAudiences: [RESOURCE],
    bindings: [{ serviceAccountEmail: SERVICE_ACCOUNT, principalSet: member }],
  });
  const credentialsFor = (client: typeof registered) =>
    skyportenCredentials({
      maskinporten: createMaskinportenClient({
        issuer: issuer.issuer,
        clientId: client.clientId,
        scope: SCOPE,
        resource: RESOURCE,
        key: { privateKey: client.privateKey, kid: client.kid },
        env: false,
      }),
      ...gcp.credentialOptions(SERVICE_ACCOUNT),
      scopes: [PUBSUB_SCOPE],
      env: false,
    });
  try {
    console.log(`Mock Skyporten issuer at ${issuer.issuer}; mock GCP STS and IAM Credentials at ${gcp.endpoint}`);
    console.log(`Pool provider ${gcp.audience} allows audience ${RESOURCE}; ${SERVICE_ACCOUNT} may be impersonated by ${member}`);
    // Through the Pub/Sub client's own auth object: the Authorization header its gRPC channel would send.
    const pubsub = new PubSub({ projectId: PROJECT, authClient: asPubSubAuthClient(credentialsFor(registered)), universeDomain: 'googleapis.com' });
    const authorization = (await (await pubsub.auth.getClient()).getRequestHeaders()).get('authorization') ?? '';
    await pubsub.close();
    const token = /^Bearer (\S+)$/.exec(authorization)?.[1];
    console.log(
      `The Pub/Sub client's auth sends "Authorization: Bearer <${token?.length ?? 0} characters, not printed>": STS checked the Skyporten token ` +
        '(signature, issuer, audience, attribute mapping), IAM Credentials checked the binding before it issued the token.',
    );
    // Which service account and scopes the token carries, asked of tokeninfo as one would ask Google's
    // (https://oauth2.googleapis.com/tokeninfo) with google-auth-library's own getTokenInfo.
    const info = await new OAuth2Client({ endpoints: { tokenInfoUrl: gcp.tokenInfoUrl } }).getTokenInfo(token ?? '');
    const tokenInfo = { email: info.email, scopes: info.scopes, expiresInSeconds: Math.round((info.expiry_date - Date.now()) / 1000) };
    console.log(`tokeninfo: the token is for ${String(tokenInfo.email)}, scopes ${tokenInfo.scopes.join(' ')}, ${tokenInfo.expiresInSeconds} s left.`);
    const unboundError = await credentialsFor(stranger)
      .getAccessToken()
      .then(() => 'none (accepted)', (error: unknown) => (error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error)));
    console.log(`Organisation ${UNBOUND_ORGANISATION_NUMBER}, not bound to the service account, is refused: ${unboundError}`);
    return { tokenLength: token?.length ?? 0, tokenInfo, requests: gcp.requests.map(({ service, status, details }) => ({ service, status, ...(details ? { details } : {}) })), unboundError };
  } finally {
    await gcp.close();
    await issuer.close();
  }
}

/** Half 2: publish and pull through the Pub/Sub emulator, which checks no credential; skipped when it is not installed. */
async function emulatorPath(): Promise<LocalRunResult['emulator']> {
  const found = findEmulator();
  if ('skipped' in found) {
    console.log(`Pub/Sub emulator: skipped, ${found.skipped}. The credential path above ran; publishing and pulling did not.`);
    return { ran: false, skipped: found.skipped };
  }
  const emulator = await startEmulator(found.command);
  // Emulator mode: an insecure channel and no credentials at all; the emulator would accept anything. The
  // universe domain is given so that the client does not look for a GCE metadata server (169.254.169.254).
  const pubsub = new PubSub({ projectId: PROJECT, apiEndpoint: emulator.host, emulatorMode: true, universeDomain: 'googleapis.com' });
  try {
    console.log(`Pub/Sub emulator at ${emulator.host} (it checks no credentials; the client sends none to it)`);
    const [topic] = await pubsub.createTopic(TOPIC);
    await topic.createSubscription(SUBSCRIPTION);
    const published = `L1 Oslo S 08:02 (for ${ORGANISATION_NUMBER})`;
    const id = await topic.publishMessage({ data: Buffer.from(published), attributes: { line: 'L1' } });
    const message = await pullOne(pubsub, SUBSCRIPTION);
    console.log(`Published ${id} to projects/${PROJECT}/topics/${TOPIC}; pulled from ${SUBSCRIPTION}: ${message.data.toString()} (line=${message.attributes.line ?? ''})`);
    return { ran: true, published, pulled: message.data.toString(), attributes: { ...message.attributes } };
  } finally {
    await pubsub.close();
    await emulator.stop();
  }
}

/** On this machine: both halves, nothing leaves 127.0.0.1. */
export async function runLocal(): Promise<LocalRunResult> {
  const credential = await credentialPath();
  const emulator = await emulatorPath();
  return { credential, emulator };
}

/** Real Google Cloud when SKYPORTEN_GCP_AUDIENCE and PUBSUB_TOPIC are set, else the local mocks. */
export async function main(): Promise<void> {
  const topic = process.env.PUBSUB_TOPIC;
  if (process.env.SKYPORTEN_GCP_AUDIENCE && topic) await runReal(topic);
  else await runLocal();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
