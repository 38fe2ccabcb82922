import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import {
  createMaskinportenClient,
  decodeSkyportenToken,
  SkyportenError,
  TokenRequestError,
  type DecodedSkyportenToken,
  type KeyInput,
  type MaskinportenClient,
  type OptionSource,
} from '@skyporten/core';
import { clientOptions, firstOf, flagAndVariable, unprefixed, type MaskinportenSettings, type Settings } from '../config.js';
import { EXIT_CODES } from '../errors.js';
import { createProxiedFetch, type ProxiedFetch } from '../http.js';
import { json } from '../output.js';
import { readPkcs12 } from '../pkcs12.js';
import { isSkyportenSubject, skyportenSubject } from '../matching.js';
import { addMaskinportenOptions, debugLogger, examples, flagsOf, settingsOf, type Runtime } from '../runtime.js';
import { addAwsOptions, getAwsCredentials } from './aws.js';
import { addGcpOptions, resolveGcpSettings, type GcpSettings } from './gcp.js';

/** One line of the doctor's checklist. */
export interface Check {
  name: string;
  status: 'pass' | 'fail' | 'warn' | 'skip';
  detail: string;
  fix?: string;
}

interface DoctorFlags {
  json?: boolean;
  expectAudience?: string;
  awsRoleArn?: string;
  awsRoleSessionName?: string;
  awsRegion?: string;
  awsStsEndpoint?: string;
  gcpAudience?: string;
  gcpServiceAccount?: string;
  gcpTokenUrl?: string;
  gcpServiceAccountImpersonationUrl?: string;
  azureTenantId?: string;
  azureClientId?: string;
  azureAuthorityHost?: string;
}

const MAX_CLOCK_SKEW_SECONDS = 10;
const CERTIFICATE_WARNING_DAYS = 60;
const DAY_MS = 86_400_000;
const AZURE_HINTS: Record<string, string> = {
  '70021': 'No federated identity credential matches: its issuer (exactly, mind the slash), subject and audience must equal the token\'s iss, sub and aud shown above.',
  '700016': 'The client id is unknown in the tenant: use the CLIENT id of the app or managed identity, not its principal (object) id, and check the tenant id.',
  '700024': 'The token is outside its valid time range: check this machine\'s clock.',
  '90002': 'The tenant id is unknown: check --azure-tenant-id.',
};

/**
 * A warning for each file that group or others can read (or write): the key, and the config file, which may
 * hold the key's passphrase and names the key.
 */
export function filePermissionChecks(files: ReadonlyArray<readonly [string, string | undefined]>): Check[] {
  const checks: Check[] = [];
  for (const [what, path] of files) {
    if (path === undefined) continue;
    let mode: number;
    try {
      mode = statSync(path).mode & 0o777;
    } catch {
      continue;
    }
    if ((mode & 0o077) === 0) {
      checks.push({ name: `${what} permissions`, status: 'pass', detail: `${path} is mode ${mode.toString(8)}` });
    } else {
      checks.push({
        name: `${what} permissions`,
        status: 'warn',
        detail: `${path} is mode ${mode.toString(8)}: ${(mode & 0o022) !== 0 ? 'group or others can change it' : 'group or others can read it'}.`,
        fix: `Run chmod 600 ${path}: it ${what === 'key file' ? 'is the private key that mints tokens for your organisation' : 'may hold the key passphrase and names the key'}.`,
      });
    }
  }
  return checks;
}

function message(error: unknown): string {
  return SkyportenError.isInstance(error) || error instanceof Error ? error.message : String(error);
}

function hint(error: unknown): string | undefined {
  return SkyportenError.isInstance(error) ? error.hint : undefined;
}

const LAYER_WORDS: Record<OptionSource, string> = { option: 'flag', env: 'environment', 'config-file': 'config file', default: 'default' };

/**
 * Where each option came from, from core's resolver: `issuer from flag --env, clientId from environment
 * MASKINPORTEN_CLIENT_ID, scope from config file "scope", ...`, then the options left at their defaults.
 */
export function describeSources(settings: Pick<MaskinportenSettings, 'sources' | 'describe'>): string {
  const given: string[] = [];
  const defaults: string[] = [];
  for (const [name, origin] of Object.entries(settings.sources)) {
    // The key's material is reported as `key`; its file or text is named there.
    if (origin === undefined || name === 'keyFile' || name === 'privateKey') continue;
    if (origin.source === 'default') defaults.push(name);
    else given.push(`${name} from ${LAYER_WORDS[origin.source]} ${origin.source === 'config-file' ? `"${origin.from}"` : settings.describe(origin)}`);
  }
  const parts = [given.length === 0 ? 'nothing given' : given.join(', ')];
  if (defaults.length > 0) parts.push(`defaults for ${defaults.join(', ')}`);
  return parts.join('; ');
}

/** Runs every check in order; later checks are skipped when what they need failed. */
async function diagnose(command: Command, runtime: Runtime): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (check: Check) => {
    checks.push(check);
    return check;
  };
  const flags = flagsOf<DoctorFlags>(command);
  const { clock, env } = runtime.context;
  const proxiedFetch = createProxiedFetch(env);

  // 1. Configuration.
  let settings: Settings;
  try {
    settings = settingsOf(command, runtime);
  } catch (error) {
    add({ name: 'configuration', status: 'fail', detail: message(error), ...(hint(error) ? { fix: hint(error)! } : {}) });
    return checks;
  }
  const mp = settings.maskinporten;
  const issuer = mp.issuer;
  const missing: Array<[string, string]> = [];
  if (issuer === undefined) missing.push(['issuer', `${flagAndVariable('environment')} test|prod or ${flagAndVariable('issuer')}`]);
  if (mp.clientId === undefined) missing.push(['client id', flagAndVariable('clientId')]);
  if (mp.scope === undefined) missing.push(['scope', flagAndVariable('scope')]);
  if (mp.keyFile === undefined && mp.inlineKey === undefined) missing.push(['private key', flagAndVariable('keyFile')]);
  if (mp.kid === undefined && mp.certificateFile === undefined && !(mp.keyFile !== undefined && /\.(p12|pfx)$/i.test(mp.keyFile))) {
    missing.push(['key id or certificate', `${flagAndVariable('kid')} or ${flagAndVariable('certificateFile')}`]);
  }
  if (mp.resource === undefined) missing.push(['resource', `${flagAndVariable('resource')}: the audience the data provider configured; without it the token has no aud and every cloud rejects it`]);
  if (missing.length === 0) {
    add({ name: 'configuration complete', status: 'pass', detail: `issuer ${issuer}, client ${mp.clientId}, scope ${mp.scope}, resource ${String(mp.resource)}` });
  } else {
    add({
      name: 'configuration complete',
      status: 'fail',
      detail: `missing: ${missing.map(([name]) => name).join(', ')}`,
      fix: `Set ${missing.map(([, how]) => how).join('; ')}.`,
    });
  }
  add({ name: 'configuration sources', status: 'pass', detail: describeSources(mp) });

  // Files holding a secret (the key, a config file that may hold its passphrase) must be private.
  for (const check of filePermissionChecks([
    ['key file', mp.keyFile],
    ['config file', settings.configPath],
  ])) add(check);

  // 2. Key and certificate.
  let key: KeyInput | undefined;
  let keyOk = false;
  try {
    key = mp.readKey();
  } catch (error) {
    add({ name: 'private key', status: 'fail', detail: message(error), ...(hint(error) ? { fix: hint(error)! } : {}) });
  }
  if (key !== undefined && 'privateKey' in key) {
    let privateKey: KeyObject | undefined;
    try {
      const text = key.privateKey as string;
      privateKey = text.trim().startsWith('{')
        ? createPrivateKey({ key: JSON.parse(text) as import('node:crypto').JsonWebKey, format: 'jwk' })
        : createPrivateKey({ key: text, format: 'pem', ...(key.passphrase !== undefined ? { passphrase: key.passphrase } : {}) });
    } catch (error) {
      add({ name: 'private key', status: 'fail', detail: `The key does not parse (${(error as { code?: string }).code ?? 'unreadable'}).`, fix: 'Give the PKCS#8 or PKCS#1 PEM (or JWK) private key registered on the client; set MASKINPORTEN_PRIVATE_KEY_PASSPHRASE for an encrypted key.' });
    }
    if (privateKey !== undefined) keyOk = checkPrivateKey(privateKey, mp.kid, add);
    if (key.certificateChain !== undefined) checkCertificate(String(key.certificateChain), privateKey, clock(), mp.kid, add);
  } else if (key !== undefined && 'pkcs12' in key) {
    try {
      const { privateKey, certificates } = await readPkcs12(key.pkcs12, key.passphrase);
      keyOk = checkPrivateKey(privateKey, mp.kid, add, 'PKCS#12, ');
      if (certificates.length === 0) {
        add({ name: 'certificate', status: mp.kid === undefined ? 'fail' : 'warn', detail: 'The PKCS#12 file holds no certificate.', fix: 'Export the .p12/.pfx with its certificate chain.' });
        if (mp.kid === undefined) keyOk = false;
      } else {
        checkCertificate(certificates.join('\n'), privateKey, clock(), mp.kid, add);
      }
    } catch (error) {
      add({ name: 'private key', status: 'fail', detail: message(error), ...(hint(error) ? { fix: hint(error)! } : {}) });
    }
  }

  // 3. Issuer, metadata, clock.
  if (issuer !== undefined) await checkIssuer(issuer, mp.tokenEndpoint, clock, proxiedFetch, add);

  // 4. Token.
  let decoded: DecodedSkyportenToken | undefined;
  let client: MaskinportenClient | undefined;
  if (missing.every(([name]) => name === 'resource') && keyOk) {
    try {
      client = createMaskinportenClient({ ...clientOptions(mp, debugLogger(command, runtime)), retry: 1, timeout: 10_000 });
      const token = await client.getToken();
      decoded = decodeSkyportenToken(token.accessToken);
      add({ name: 'token obtained', status: 'pass', detail: `scope ${token.scope}, expires in ${Math.round((token.expiresAt.getTime() - clock()) / 1000)} s` });
    } catch (error) {
      const detail = TokenRequestError.isInstance(error) && error.mpCode !== undefined ? `${error.mpCode}: ${message(error)}` : message(error);
      add({ name: 'token obtained', status: 'fail', detail, fix: hint(error) ?? 'See the message; run with --debug for details.' });
    }
  } else {
    add({ name: 'token obtained', status: 'skip', detail: 'fix the configuration and key first' });
  }

  // 5. What the clouds will see.
  if (decoded !== undefined) {
    const expected = flags.expectAudience ?? (typeof mp.resource === 'string' ? mp.resource : undefined);
    if (decoded.audience.length === 0) {
      add({ name: 'aud present', status: 'fail', detail: 'The token has no aud.', fix: 'Set --resource (SKYPORTEN_RESOURCE) to the audience the data provider configured, e.g. https://skyporten.example.org.' });
    } else if (expected !== undefined && !decoded.audience.includes(expected)) {
      add({ name: 'aud as expected', status: 'fail', detail: `aud is ${decoded.audience.join(', ')}, expected ${expected}.`, fix: `Ask for resource ${expected}: it must equal the OIDC provider's client id / allowed audience / federated credential audience.` });
    } else {
      add({ name: 'aud as expected', status: 'pass', detail: decoded.audience.join(', ') });
    }
    if (decoded.issuer !== issuer) {
      add({ name: 'iss', status: 'fail', detail: `The token's iss is ${decoded.issuer}, but ${issuer} is configured.`, fix: 'The clouds match iss exactly: configure the issuer the token carries.' });
    }
    const subject = decoded.subject ?? '';
    const expectedSubject = decoded.consumerId !== undefined && decoded.scope !== undefined ? skyportenSubject(decoded.consumerId, decoded.scope) : undefined;
    if (isSkyportenSubject(subject) && (expectedSubject === undefined || subject === expectedSubject)) {
      add({ name: 'sub format (AWS, Azure)', status: 'pass', detail: subject });
    } else {
      add({ name: 'sub format (AWS, Azure)', status: 'fail', detail: `sub is "${subject}", expected ${expectedSubject ?? '<consumer>;<scope>'}.`, fix: 'AWS trust policies and Azure federated credentials match <consumer ID>;<scope> exactly: request one scope, and check the issuer is Skyporten, not plain Maskinporten.' });
    }
  }

  // 6. Optional cloud exchanges.
  if (client !== undefined && decoded !== undefined) {
    // The same precedence as exec and the credential commands: flag, environment variable, config file.
    const awsRoleArn = firstOf(flags.awsRoleArn, env.AWS_ROLE_ARN, settings.file.aws?.roleArn);
    if (awsRoleArn !== undefined) {
      try {
        const credentials = await getAwsCredentials(
          unprefixed(flags, 'aws'),
          settings,
          client,
          runtime,
        );
        add({ name: 'AWS STS AssumeRoleWithWebIdentity', status: 'pass', detail: `${awsRoleArn}, credentials until ${credentials.Expiration}` });
      } catch (error) {
        add({ name: 'AWS STS AssumeRoleWithWebIdentity', status: 'fail', detail: message(error), fix: hint(error) ?? 'Check the role ARN and the trust policy.' });
      }
    }
    const gcp = resolveGcpSettings(unprefixed(flags, 'gcp'), settings, env);
    if (gcp.audience !== undefined) await checkGcp({ ...gcp, audience: gcp.audience }, client, add);
    const azureFile = settings.file.azure ?? {};
    const tenantId = firstOf(flags.azureTenantId, env.AZURE_TENANT_ID, azureFile.tenantId);
    const azureClientId = firstOf(flags.azureClientId, env.AZURE_CLIENT_ID, azureFile.clientId);
    if (tenantId !== undefined || azureClientId !== undefined) {
      const authorityHost = firstOf(flags.azureAuthorityHost, env.AZURE_AUTHORITY_HOST, azureFile.authorityHost) ?? 'https://login.microsoftonline.com';
      await checkAzure(tenantId, azureClientId, authorityHost, client, proxiedFetch, add);
    }
  }
  return checks;
}

/** Key type and size; true when the key can sign a Maskinporten grant. */
function checkPrivateKey(privateKey: KeyObject, kid: string | undefined, add: (check: Check) => Check, prefix = ''): boolean {
  const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (privateKey.asymmetricKeyType !== 'rsa') {
    add({ name: 'private key', status: 'fail', detail: `The key is ${privateKey.asymmetricKeyType?.toUpperCase() ?? 'not RSA'}.`, fix: 'Maskinporten grants are signed RS256/384/512: use an RSA key of at least 2048 bits.' });
    return false;
  }
  if (bits < 2048) {
    add({ name: 'private key', status: 'fail', detail: `The key is a ${bits}-bit RSA key.`, fix: 'Generate an RSA key of at least 2048 bits and register it on the client.' });
    return false;
  }
  add({ name: 'private key', status: 'pass', detail: `${prefix}RSA ${bits} bits${kid !== undefined ? `, kid ${kid}` : ''}` });
  return true;
}

function checkCertificate(chain: string, privateKey: KeyObject | undefined, now: number, kid: string | undefined, add: (check: Check) => Check): void {
  const blocks = chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  let leaf: X509Certificate;
  try {
    if (blocks[0] === undefined) throw new Error('no PEM certificate');
    leaf = new X509Certificate(blocks[0]);
  } catch (error) {
    add({ name: 'certificate', status: 'fail', detail: `The certificate file does not parse (${message(error)}).`, fix: 'Give the business certificate chain as PEM, leaf first.' });
    return;
  }
  if (privateKey !== undefined && !leaf.checkPrivateKey(privateKey)) {
    add({ name: 'certificate matches key', status: 'fail', detail: `The first certificate (${leaf.subject.replace(/\n/g, ', ')}) does not belong to the private key.`, fix: 'Use the certificate issued for this key, leaf first.' });
  } else if (privateKey !== undefined) {
    add({ name: 'certificate matches key', status: 'pass', detail: leaf.subject.replace(/\n/g, ', ') });
  }
  const daysLeft = (leaf.validToDate.getTime() - now) / DAY_MS;
  const until = leaf.validToDate.toISOString().slice(0, 10);
  if (daysLeft <= 0) {
    add({ name: 'certificate expiry', status: 'fail', detail: `The certificate expired on ${until}.`, fix: kid !== undefined ? 'The kid is sent instead of the certificate, but renew the certificate anyway.' : 'Renew the business certificate and register it on the client.' });
  } else if (daysLeft < CERTIFICATE_WARNING_DAYS) {
    add({ name: 'certificate expiry', status: 'warn', detail: `The certificate expires on ${until}, in ${Math.floor(daysLeft)} days.`, fix: 'Order a new business certificate now.' });
  } else {
    add({ name: 'certificate expiry', status: 'pass', detail: `valid until ${until} (${Math.floor(daysLeft / 30)} months)` });
  }
}

async function checkIssuer(issuer: string, tokenEndpoint: string | undefined, clock: () => number, fetch: ProxiedFetch, add: (check: Check) => Check): Promise<boolean> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  let response: Response;
  const sentAt = clock();
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(10_000), headers: { accept: 'application/json' } });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    add({ name: 'issuer reachable', status: 'fail', detail: `${url}: ${cause ?? message(error)}`, fix: 'Check the issuer URL (--env / --issuer), DNS, firewall and HTTPS_PROXY.' });
    return false;
  }
  const receivedAt = clock();
  add({ name: 'issuer reachable', status: 'pass', detail: `${url} answered HTTP ${response.status}` });
  const date = response.headers.get('date');
  if (date === null || Number.isNaN(Date.parse(date))) {
    add({ name: 'clock skew', status: 'skip', detail: 'the server sent no Date header' });
  } else {
    const skew = ((sentAt + receivedAt) / 2 - Date.parse(date)) / 1000;
    const rounded = Math.round(skew);
    if (Math.abs(skew) > MAX_CLOCK_SKEW_SECONDS) {
      add({ name: 'clock skew', status: 'fail', detail: `This machine's clock is ${Math.abs(rounded)} s ${skew > 0 ? 'ahead of' : 'behind'} the issuer's.`, fix: `Synchronise the clock (NTP): the grant's iat must be within ${MAX_CLOCK_SKEW_SECONDS} s of the server's time (MP-130 otherwise).` });
    } else {
      add({ name: 'clock skew', status: 'pass', detail: `${rounded} s (within ±${MAX_CLOCK_SKEW_SECONDS} s, Date header precision 1 s)` });
    }
  }
  let metadata: Record<string, unknown>;
  try {
    if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
    metadata = (await response.json()) as Record<string, unknown>;
    for (const field of ['issuer', 'token_endpoint', 'jwks_uri']) {
      if (typeof metadata[field] !== 'string') throw new Error(`no ${field}`);
    }
  } catch (error) {
    add({ name: 'metadata', status: 'fail', detail: `${url} is not an OpenID metadata document (${message(error)}).`, fix: 'Check the issuer URL: use --env test|prod for Skyporten.' });
    return false;
  }
  const grantTypes = metadata.grant_types_supported;
  if (Array.isArray(grantTypes) && !grantTypes.includes('urn:ietf:params:oauth:grant-type:jwt-bearer')) {
    add({ name: 'metadata', status: 'fail', detail: 'The issuer does not support the jwt-bearer grant.', fix: 'This is not a Maskinporten issuer: check --issuer.' });
  } else {
    add({ name: 'metadata', status: 'pass', detail: `token endpoint ${String(metadata.token_endpoint)}` });
  }
  if (metadata.issuer !== issuer) {
    const slash = String(metadata.issuer).replace(/\/+$/, '') === issuer.replace(/\/+$/, '');
    add({
      name: 'issuer string exact',
      status: 'fail',
      detail: `The issuer calls itself "${String(metadata.issuer)}", but "${issuer}" is configured${slash ? ' (trailing slash)' : ''}.`,
      fix: `Set --issuer ${String(metadata.issuer)}: the grant's aud and every cloud compare it byte for byte${slash ? ' (Skyporten has no trailing slash; plain Maskinporten has one)' : ''}.`,
    });
    return false;
  }
  add({ name: 'issuer string exact', status: 'pass', detail: issuer });
  if (tokenEndpoint !== undefined && tokenEndpoint !== metadata.token_endpoint) {
    add({ name: 'token endpoint', status: 'warn', detail: `--token-endpoint ${tokenEndpoint} differs from the metadata's ${String(metadata.token_endpoint)}.`, fix: 'Leave --token-endpoint out unless you must bypass discovery.' });
  }
  return true;
}

async function checkGcp(settings: GcpSettings & { audience: string }, client: MaskinportenClient, add: (check: Check) => Check): Promise<void> {
  const name = settings.serviceAccountEmail === undefined ? 'GCP STS token exchange' : 'GCP STS exchange and impersonation';
  try {
    const { skyportenCredentials } = await import('@skyporten/gcp');
    const authClient = skyportenCredentials({
      env: false,
      maskinporten: client,
      audience: settings.audience,
      ...(settings.serviceAccountEmail !== undefined ? { serviceAccountEmail: settings.serviceAccountEmail } : {}),
      ...(settings.tokenUrl !== undefined ? { tokenUrl: settings.tokenUrl } : {}),
      ...(settings.serviceAccountImpersonationUrl !== undefined ? { serviceAccountImpersonationUrl: settings.serviceAccountImpersonationUrl } : {}),
    });
    const { token } = await authClient.getAccessToken();
    if (typeof token !== 'string' || token === '') throw new Error('no access token in the answer');
    add({ name, status: 'pass', detail: `a Google access token for ${settings.serviceAccountEmail ?? 'the federated principal'}` });
  } catch (error) {
    add({ name, status: 'fail', detail: message(error), fix: hint(error) ?? 'Check the provider\'s issuer-uri, allowed audiences and the principalSet binding (skyporten provider gcp).' });
  }
}

async function checkAzure(tenantId: string | undefined, clientId: string | undefined, authorityHost: string, client: MaskinportenClient, fetch: ProxiedFetch, add: (check: Check) => Check): Promise<void> {
  const name = 'Entra ID client assertion';
  if (tenantId === undefined || clientId === undefined) {
    add({ name, status: 'fail', detail: 'Both --azure-tenant-id and --azure-client-id are needed.', fix: 'Give the tenant id and the CLIENT id of the app or managed identity.' });
    return;
  }
  const url = `${authorityHost.replace(/\/+$/, '')}/${encodeURIComponent(tenantId)}/oauth2/v2.0/token`;
  try {
    const body = new URLSearchParams({
      client_id: clientId,
      scope: 'https://storage.azure.com/.default',
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await client.getAccessToken(),
    });
    const response = await fetch(url, { method: 'POST', body, signal: AbortSignal.timeout(10_000) });
    const answer = (await response.json().catch(() => ({}))) as { access_token?: string; error?: string; error_description?: string; error_codes?: number[] };
    if (response.ok && typeof answer.access_token === 'string') {
      add({ name, status: 'pass', detail: `an Azure Storage token for client ${clientId}` });
      return;
    }
    const code = answer.error_codes?.[0]?.toString() ?? /AADSTS(\d+)/.exec(answer.error_description ?? '')?.[1];
    const description = (answer.error_description ?? `HTTP ${response.status}`).split(/\r?\n/)[0]!;
    add({ name, status: 'fail', detail: `${answer.error ?? 'error'}: ${description}`, fix: (code && AZURE_HINTS[code]) ?? 'Check the federated identity credential (skyporten provider azure).' });
  } catch (error) {
    add({ name, status: 'fail', detail: `${url}: ${message(error)}`, fix: 'Check --azure-authority-host and network access to Entra ID.' });
  }
}

const SYMBOLS: Record<Check['status'], string> = { pass: '✓', fail: '✗', warn: '!', skip: '-' };

/** `skyporten doctor`. */
export function registerDoctorCommand(program: Command, runtime: Runtime): void {
  const command = program
    .command('doctor')
    .description('check the configuration, key, certificate, issuer, clock, token and (optionally) a cloud exchange; exits 0 only when every check passes')
    .option('--json', 'print the checks as JSON')
    .option('--expect-audience <uri>', 'the audience the data provider configured (default: --resource)');
  addAwsOptions(command, 'aws-');
  addGcpOptions(command, 'gcp-');
  command
    .option('--azure-tenant-id <id>', 'Entra tenant id: try the client assertion exchange (AZURE_TENANT_ID)')
    .option('--azure-client-id <id>', 'client id of the app or managed identity (AZURE_CLIENT_ID)')
    .option('--azure-authority-host <url>', 'Entra authority host (AZURE_AUTHORITY_HOST)');
  addMaskinportenOptions(command)
    .addHelpText(
      'after',
      examples(
        'skyporten doctor --config skyporten.json',
        'skyporten doctor --config skyporten.json --aws-role-arn arn:aws:iam::123456789012:role/skyporten-reader',
        'skyporten doctor --config skyporten.json --azure-tenant-id $TENANT --azure-client-id $CLIENT',
      ),
    )
    .action(async () => {
      const checks = await diagnose(command, runtime);
      const ok = checks.every((check) => check.status !== 'fail');
      const { stdout } = runtime.context;
      if (flagsOf<DoctorFlags>(command).json === true) {
        stdout.write(json({ ok, checks }));
      } else {
        const lines = checks.flatMap((check) => {
          const line = `${SYMBOLS[check.status]} ${check.name}: ${check.detail}`;
          return check.fix !== undefined && check.status !== 'pass' ? [line, `    fix: ${check.fix}`] : [line];
        });
        const failures = checks.filter((check) => check.status === 'fail').length;
        lines.push('', ok ? 'All checks passed.' : `${failures} problem${failures === 1 ? '' : 's'} found.`);
        stdout.write(`${lines.join('\n')}\n`);
      }
      runtime.exitCode = ok ? EXIT_CODES.ok : EXIT_CODES.problems;
    });
}
