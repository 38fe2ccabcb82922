import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixture, lines, ORG, RESOURCE, runCli, SCOPE, secretsIn, type Fixture } from './helpers.ts';
import { answer, bearerOf, startTarget, type Target } from './exchange-helpers.ts';

const SUBJECT = `0192:${ORG};${SCOPE}`;
let fixture: Fixture;
let target: Target;
let vault: Target;
/** Tokens the stand-ins issued, and the Skyporten tokens they verified. */
const issued = new Set<string>();
const subjectTokens: string[] = [];
let refuseNext = false;
let counter = 0;

/** Verifies a Skyporten token as a federating target does: the issuer's signature, the audience, the subject. */
async function verified(token: string | undefined): Promise<boolean> {
  if (token === undefined) return false;
  const claims = await fixture.issuer.verifyAccessToken(token, { audience: RESOURCE }).catch(() => undefined);
  if (claims?.sub !== SUBJECT) return false;
  subjectTokens.push(token);
  return true;
}

function issue(prefix: string): string {
  const token = `${prefix}-${++counter}`;
  issued.add(token);
  return token;
}

beforeAll(async () => {
  fixture = await createFixture();
  // An RFC 8693 token endpoint (Databricks' /oidc/v1/token among others) and one API call that checks its token.
  target = await startTarget(async (request, response) => {
    if (request.method === 'GET' && request.url === '/api/2.0/clusters/list') {
      const token = bearerOf(request);
      return token !== undefined && issued.has(token) ? answer(response, 200, { clusters: [] }) : answer(response, 401, { error_code: 'UNAUTHENTICATED' });
    }
    const form = new URLSearchParams(request.body);
    if (refuseNext) {
      refuseNext = false;
      return answer(response, 400, { error: 'invalid_grant', error_description: 'No matching federation policy' });
    }
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:token-exchange' || !(await verified(form.get('subject_token') ?? undefined))) {
      return answer(response, 400, { error: 'invalid_request' });
    }
    answer(response, 200, { access_token: issue('target'), token_type: 'Bearer', issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', expires_in: 3600 });
  });
  // Vault's JWT login, as configured with bound_audiences = RESOURCE and bound_subject = SUBJECT, role "reader".
  vault = await startTarget(async (request, response) => {
    if (request.url !== '/v1/auth/jwt/login') return answer(response, 404, { errors: ['no handler for route "auth/x/login". route entry not found.'] });
    const { role, jwt } = JSON.parse(request.body) as { role: string; jwt: string };
    if (role !== 'reader') return answer(response, 400, { errors: [`role "${role}" could not be found`] });
    if (!(await verified(jwt))) return answer(response, 400, { errors: ['sub claim does not match bound subject'] });
    answer(response, 200, { auth: { client_token: issue('hvs.vault'), lease_duration: 900, renewable: true, policies: ['default'] } });
  });
});
afterAll(async () => {
  await target.close();
  await vault.close();
  await fixture.close();
});

function exchange(args: string[], options: { env?: Record<string, string> } = {}) {
  return runCli(['exchange', ...args, ...fixture.flags], { env: { ...fixture.env, ...options.env } });
}

describe('skyporten exchange', () => {
  it("prints the target's token; the target got the Skyporten token (the issuer verifies it) and the RFC 8693 parameters", async () => {
    const before = target.received.length;
    const result = await exchange(['--no-cache', '--token-endpoint', `${target.url}/token`, '--target-scope', 'read', '--audience', 'https://api.example.org', '--target-resource', 'https://data.example.org']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const token = result.stdout.trim();
    expect(issued.has(token)).toBe(true);
    const form = new URLSearchParams(target.received[before]?.body);
    expect([form.get('scope'), form.get('audience'), form.get('resource'), form.get('subject_token_type')]).toEqual(['read', 'https://api.example.org', 'https://data.example.org', 'urn:ietf:params:oauth:token-type:jwt']);
    expect(subjectTokens.at(-1)).toBe(form.get('subject_token'));
  });

  it('--json prints the token with its type and expiry', async () => {
    const result = await exchange(['--json', '--no-cache', '--token-endpoint', `${target.url}/token`]);
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(Object.keys(output).sort()).toEqual(['access_token', 'expires_at', 'expires_in', 'issued_at', 'token_type']);
    expect(issued.has(String(output.access_token))).toBe(true);
    expect(output.expires_in).toBeGreaterThan(3500);
    expect(Date.parse(String(output.expires_at)) - Date.parse(String(output.issued_at))).toBe(3_600_000);
  });

  it('answers a second process from the cross-process cache; --no-cache and other target parameters ask the target again', async () => {
    const cacheDir = join(fixture.directory, 'exchange-cache');
    const args = ['--cache-dir', cacheDir, '--token-endpoint', `${target.url}/token`, '--target-scope', 'cached'];
    const before = target.received.length;
    const first = await exchange(args);
    const second = await exchange(args);
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(second.stdout).toBe(first.stdout);
    expect(target.received.length - before).toBe(1);
    const other = await exchange([...args.slice(0, -1), 'other']);
    expect(other.stdout).not.toBe(first.stdout);
    const uncached = await exchange([...args, '--no-cache']);
    expect(uncached.stdout).not.toBe(first.stdout);
    expect(target.received.length - before).toBe(3);
  });

  it('--preset databricks sends to <workspace>/oidc/v1/token with scope all-apis; the token opens the API', async () => {
    const before = target.received.length;
    const result = await exchange(['--no-cache', '--preset', 'databricks', '--workspace', target.url, '--target-client-id', 'sp-app-id']);
    expect(result.code).toBe(0);
    const request = target.received[before];
    expect(request?.url).toBe('/oidc/v1/token');
    expect(new URLSearchParams(request?.body).get('scope')).toBe('all-apis');
    expect(new URLSearchParams(request?.body).get('client_id')).toBe('sp-app-id');
    const api = await fetch(`${target.url}/api/2.0/clusters/list`, { headers: { authorization: `Bearer ${result.stdout.trim()}` } });
    expect(api.status).toBe(200);
  });

  it('--preset vault logs in with {role, jwt} (the Skyporten token) and prints the Vault token; VAULT_ADDR works too', async () => {
    const result = await exchange(['--no-cache', '--preset', 'vault', '--vault-addr', vault.url, '--role', 'reader']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^hvs\.vault-\d+$/);
    const login = vault.received.at(-1);
    expect(login?.headers['content-type']).toBe('application/json');
    expect((JSON.parse(login?.body ?? '{}') as { jwt: string }).jwt).toBe(subjectTokens.at(-1));
    const fromEnv = await exchange(['--no-cache', '--preset', 'vault', '--role', 'reader'], { env: { VAULT_ADDR: vault.url } });
    expect(fromEnv.code).toBe(0);
    expect(issued.has(fromEnv.stdout.trim())).toBe(true);
  });

  it("prints the target's OAuth error and a hint on stderr, exit 1, no secret, and caches nothing", async () => {
    const cacheDir = join(fixture.directory, 'refused-cache');
    const args = ['--cache-dir', cacheDir, '--token-endpoint', `${target.url}/token`, '--target-scope', 'refused'];
    refuseNext = true;
    const refused = await exchange(args);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    const output = lines(refused.stderr);
    expect(output).toHaveLength(2);
    expect(output[0]).toMatch(/^skyporten: The token exchange was refused \(400 invalid_grant: No matching federation policy\)\. \[CLOUD_EXCHANGE_FAILED\]$/);
    expect(output[1]).toMatch(/^ {2}hint: .*federation policy/);
    expect(secretsIn(refused.stderr)).toEqual([]);
    const next = await exchange(args);
    expect(next.code).toBe(0);
    expect(issued.has(next.stdout.trim())).toBe(true);
  });

  it("prints Vault's error and a hint: an unknown role", async () => {
    const result = await exchange(['--no-cache', '--preset', 'vault', '--vault-addr', vault.url, '--role', 'writer']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Vault refused the JWT login for role "writer" \(400: role "writer" could not be found\)/);
    expect(result.stderr).toMatch(/hint: .*vault list auth/);
  });

  it.each([
    ['plain http to another host', ['--token-endpoint', 'http://target.example.org/token'], /--token-endpoint must use https/],
    ['no target', [], /--token-endpoint URL.*--preset/],
    ['an unknown preset', ['--preset', 'snowflake'], /--preset is "snowflake"/],
    ['a Vault flag without the preset', ['--token-endpoint', 'https://target.example.org/token', '--role', 'reader'], /--role needs --preset/],
    ['RFC 8693 parameters with Vault', ['--preset', 'vault', '--vault-addr', 'https://vault.example.org', '--role', 'r', '--target-scope', 's'], /--target-scope cannot be combined with --preset vault/],
    ['databricks without a workspace', ['--preset', 'databricks'], /--workspace/],
  ])('refuses %s with exit 2, before any request', async (_name, args, message) => {
    const before = target.received.length + vault.received.length;
    const result = await exchange(['--no-cache', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(target.received.length + vault.received.length).toBe(before);
  });

  it.each([
    ['exchange', ['exchange', '--token-endpoint', 'https://target.example.org/token', '--skyporten-token-endpoint'], '--skyporten-token-endpoint'],
    ['token', ['token', '--token-endpoint'], '--token-endpoint'],
  ])("%s: a wrong Skyporten token endpoint is named by that command's flag (exit 2, before any request)", async (_name, args, flag) => {
    for (const endpoint of ['http://issuer.example.org/token', 'not a url']) {
      const before = target.received.length;
      const result = await runCli([...args, endpoint, '--no-cache', ...fixture.flags], { env: fixture.env });
      expect(result.code).toBe(2);
      expect(lines(result.stderr)[0]).toMatch(new RegExp(`^skyporten: ${flag} must (use https|be an absolute URL)`));
      expect(result.stderr).not.toMatch(/tokenEndpoint/);
      expect(target.received.length).toBe(before);
    }
    const fromEnv = await runCli([...args.slice(0, -1), '--no-cache', ...fixture.flags.filter((flag) => flag !== '--issuer' && flag !== fixture.issuer.issuer)], {
      env: { ...fixture.env, SKYPORTEN_ISSUER: fixture.issuer.issuer, SKYPORTEN_TOKEN_ENDPOINT: 'http://issuer.example.org/token' },
    });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toMatch(/^skyporten: SKYPORTEN_TOKEN_ENDPOINT "http:\/\/issuer\.example\.org\/token" must use https/);
  });

  it('refuses a Skyporten token without a resource (exit 2, naming resource)', async () => {
    const result = await runCli(['exchange', '--no-cache', '--token-endpoint', `${target.url}/token`, ...fixture.flags.filter((flag, index, all) => flag !== '--resource' && all[index - 1] !== '--resource')], { env: fixture.env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no aud/);
  });
});
