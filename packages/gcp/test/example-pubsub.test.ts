import { afterEach, expect, it, vi } from 'vitest';

// Imported by URL: the example is its own TypeScript project (tsc -b checks it there).
const exampleUrl = new URL('../../../examples/gcp-pubsub/index.ts', import.meta.url).href;
const { runLocal, findEmulator } = (await import(exampleUrl)) as {
  findEmulator(env?: NodeJS.ProcessEnv): { command: string } | { skipped: string };
  runLocal(): Promise<{
    credential: { tokenLength: number; tokenInfo: { email: string | undefined; scopes: string[]; expiresInSeconds: number }; requests: { service: string; status: number; details?: Record<string, unknown> }[]; unboundError: string };
    emulator: { ran: true; published: string; pulled: string; attributes: Record<string, string> } | { ran: false; skipped: string };
  }>;
};

const SERVICE_ACCOUNT = 'skyporten-subscriber@data-provider.iam.gserviceaccount.com';
const POOL = 'principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/skyporten/subject';

afterEach(() => {
  vi.restoreAllMocks();
});

it('examples/gcp-pubsub: the Pub/Sub-scoped token comes through the mock STS and IAM, which refuse an unbound organisation; the emulator round-trips a message when installed', { timeout: 120_000 }, async () => {
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void lines.push(parts.join(' ')));
  delete process.env.PUBSUB_TOPIC;
  const { credential, emulator } = await runLocal();

  // The bound organisation: STS verified its Skyporten token, IAM let its principal impersonate the service account for the Pub/Sub scope.
  expect(credential.requests.map(({ service, status }) => [service, status])).toEqual([
    ['sts', 200],
    ['iamcredentials', 200],
    ['tokeninfo', 200],
    ['sts', 200],
    ['iamcredentials', 403],
  ]);
  expect(credential.requests[0]?.details?.principal).toBe(`${POOL}/0192:991825827`);
  expect(credential.requests[1]?.details).toMatchObject({ serviceAccountEmail: SERVICE_ACCOUNT, scope: ['https://www.googleapis.com/auth/pubsub'] });
  expect(credential.tokenLength).toBeGreaterThan(20);
  // The token the Pub/Sub client's auth sends, as tokeninfo describes it: the service account's, for the Pub/Sub scope only.
  expect(credential.tokenInfo.email).toBe(SERVICE_ACCOUNT);
  expect(credential.tokenInfo.scopes).toEqual(['https://www.googleapis.com/auth/pubsub']);
  expect(credential.tokenInfo.expiresInSeconds).toBeGreaterThan(3500);
  expect(credential.tokenInfo.expiresInSeconds).toBeLessThanOrEqual(3600);
  expect(lines.join('\n')).toContain(`tokeninfo: the token is for ${SERVICE_ACCOUNT}, scopes https://www.googleapis.com/auth/pubsub,`);
  // The other organisation federates (the pool accepts any Skyporten token) but has no binding on the service account.
  expect(credential.requests[3]?.details?.principal).toBe(`${POOL}/0192:974760673`);
  expect(credential.unboundError).toMatch(/PERMISSION_DENIED/);

  const found = findEmulator();
  if ('command' in found) {
    expect(emulator).toEqual({ ran: true, published: 'L1 Oslo S 08:02 (for 991825827)', pulled: 'L1 Oslo S 08:02 (for 991825827)', attributes: { line: 'L1' } });
  } else {
    expect(emulator).toEqual({ ran: false, skipped: found.skipped });
    expect(lines.join('\n')).toContain('Pub/Sub emulator: skipped');
  }
  const output = lines.join('\n');
  expect(output).not.toMatch(/mock-(sa|federated)\.|eyJ[\w-]+\.[\w-]+\./);
});

it('findEmulator says what is missing', () => {
  expect(findEmulator({ PUBSUB_EMULATOR_BIN: '/nonexistent/cloud-pubsub-emulator' })).toEqual({
    skipped: expect.stringContaining('no Pub/Sub emulator at /nonexistent/cloud-pubsub-emulator'),
  });
});
