// `npm run demo`: the whole flow on a laptop, with no real credentials. Starts the mock Skyporten issuer,
// registers a client, gets a token through createMaskinportenClient, shows its claims and the cache at
// work, then runs each cloud example against its local endpoints.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createMaskinportenClient, decodeSkyportenToken } from '@skyporten/core';
import { createMockSkyporten } from '@skyporten/testing';

const scope = 'entur:skyporten.demo';
const resource = 'https://skyporten.example.org';

async function coreDemo(): Promise<void> {
  const issuer = await createMockSkyporten();
  try {
    const registered = await issuer.registerClient({ scopes: [scope], orgNo: '991825827' });
    console.log(`Mock Skyporten issuer at ${issuer.issuer}; client ${registered.clientId} (org ${registered.orgNo})`);

    const client = createMaskinportenClient({
      issuer: issuer.issuer,
      clientId: registered.clientId,
      scope,
      resource,
      key: { privateKey: registered.privateKey, kid: registered.kid },
      env: false,
    });

    const token = await client.getToken();
    const decoded = decodeSkyportenToken(token.accessToken);
    console.log('\nAccess token claims (the token itself is never printed):');
    console.table({
      iss: decoded.issuer,
      aud: decoded.audience.join(', '),
      sub: decoded.subject,
      scope: decoded.scope,
      consumer: decoded.consumerId,
      expires: `${decoded.expiresAt?.toISOString()} (in ${Math.round(token.lifetimeSeconds)} s)`,
    });

    const started = performance.now();
    const concurrent = await Promise.all(Array.from({ length: 1000 }, () => client.getAccessToken()));
    const elapsed = performance.now() - started;
    console.log(
      `Cache at work: 1,000 concurrent getAccessToken() calls -> ${new Set(concurrent).size} distinct token, ` +
        `${issuer.requests.length} token request in all, ${elapsed.toFixed(1)} ms.`,
    );

    const fresh = createMaskinportenClient({
      issuer: issuer.issuer,
      clientId: registered.clientId,
      scope,
      resource,
      key: { privateKey: registered.privateKey, kid: registered.kid },
      retry: { limit: 3, baseDelayMs: 50 },
      env: false,
    });
    issuer.failNext({ count: 2, status: 503 });
    const before = issuer.requests.length;
    await fresh.getToken();
    console.log(`Resilience: the issuer answered 503 twice; the client retried with fresh grants and succeeded after ${issuer.requests.length - before} requests.`);
  } finally {
    await issuer.close();
  }
}

await coreDemo();

for (const example of ['aws-s3', 'aws-kinesis', 'gcp-storage', 'gcp-bigquery', 'gcp-pubsub', 'azure-blob', 'azure-event-hubs', 'databricks']) {
  const path = new URL(`../examples/${example}/index.ts`, import.meta.url);
  if (!existsSync(path)) continue;
  console.log(`\n=== examples/${example} (local endpoints) ===`);
  // Each example in its own process, as `npm start` runs it: examples set process-wide state (trusted test
  // certificates, environment), and one example's must not leak into the next.
  const { status } = spawnSync(process.execPath, [fileURLToPath(path)], { stdio: 'inherit', cwd: fileURLToPath(new URL('.', path)) });
  if (status !== 0) {
    console.error(`examples/${example} failed (exit ${status}).`);
    process.exit(1);
  }
}
console.log('\nDemo finished.');
