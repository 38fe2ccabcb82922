import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createCredentialChain } from '@aws-sdk/credential-providers';
import { CloudExchangeError, ConfigError, createMaskinportenClient, SkyportenError } from '@skyporten/core';
import { chain, CredentialsProviderError } from '@smithy/property-provider';
import { afterEach, describe, expect, it } from 'vitest';
import { skyportenCredentials, type SkyportenCredentialsOptions } from '@skyporten/aws';
import { DeferredConfigError } from '../src/errors.ts';
import { BUCKET, credentialsFor, RESOURCE, ROLE_ARN, SCOPE, SUBJECT, startWorld, type World } from './setup.ts';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function failure(promise: Promise<unknown>): Promise<CloudExchangeError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (caught: unknown) => caught,
  );
  expect(SkyportenError.isInstance(error)).toBe(true);
  expect(String((error as Error).message)).not.toMatch(/eyJ/);
  expect(String((error as SkyportenError).hint)).not.toMatch(/eyJ/);
  return error as CloudExchangeError;
}

describe('STS refusals become CloudExchangeError with a hint', () => {
  it('wrong audience: InvalidIdentityToken "Incorrect token audience" points at the OIDC provider client ID list', async () => {
    world = await startWorld();
    const error = await failure(credentialsFor(world, { maskinporten: world.maskinporten('https://other.example.org') })());
    expect(error).toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', cloud: 'aws', cloudCode: 'InvalidIdentityToken', status: 400, isRetryable: false });
    expect(error.message).toContain('Incorrect token audience');
    expect(error.hint).toContain('client ID list');
    expect(error.hint).toContain('https://other.example.org');
  });

  it('wrong sub: AccessDenied names the trust policy condition key and the token\'s actual sub', async () => {
    world = await startWorld({ roles: [{ roleArn: ROLE_ARN, trustPolicy: { sub: '0192:974760673;entur:skyporten.demo' } }] });
    const error = await failure(world.s3(credentialsFor(world)).send(new GetObjectCommand({ Bucket: BUCKET, Key: 'hello.txt' })));
    expect(error).toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', cloudCode: 'AccessDenied', status: 403, isRetryable: false });
    const host = new URL(world.issuer.issuer).host;
    expect(error.hint).toContain(`"${host}:sub": "${SUBJECT}"`);
    expect(error.hint).toContain(ROLE_ARN);
    expect(world.aws.s3Calls).toBe(0);
  });

  it('unknown role: AccessDenied too, as on AWS', async () => {
    world = await startWorld();
    const error = await failure(credentialsFor(world, { roleArn: 'arn:aws:iam::123456789012:role/someone-else' })());
    expect(error.cloudCode).toBe('AccessDenied');
  });

  it('issuer without an IAM OIDC provider: InvalidIdentityToken naming the issuer', async () => {
    world = await startWorld();
    const elsewhere = await startWorld();
    try {
      const error = await failure(credentialsFor(elsewhere, { clientConfig: { endpoint: world.aws.stsEndpoint } })());
      expect(error.cloudCode).toBe('InvalidIdentityToken');
      expect(error.message).toContain('No OpenIDConnect provider');
      expect(error.hint).toContain(`URL https://${new URL(elsewhere.issuer.issuer).host}`);
    } finally {
      await elsewhere.close();
    }
  });

  it('expired token: ExpiredTokenException is retried once with a fresh token, then reported', async () => {
    world = await startWorld({ clock: () => Date.now() + 10 * 60_000 }, { issuerOnRealClock: true });
    const error = await failure(credentialsFor(world)());
    expect(error).toMatchObject({ cloudCode: 'ExpiredTokenException', isRetryable: false });
    expect(error.hint).toContain('clock');
    expect(world.aws.stsCalls).toBe(2);
    expect(world.tokenRequests()).toBe(2);
  });

  it('durationSeconds above the role maximum: ValidationError with a hint', async () => {
    world = await startWorld({ roles: [{ roleArn: ROLE_ARN, trustPolicy: { sub: SUBJECT }, maxSessionDurationSeconds: 3600 }] });
    const error = await failure(credentialsFor(world, { durationSeconds: 7200 })());
    expect(error.cloudCode).toBe('ValidationError');
    expect(error.hint).toContain('durationSeconds');
  });

  it('a token without aud is a ConfigError on resource before STS is called', async () => {
    world = await startWorld();
    const error = await failure(credentialsFor(world, { maskinporten: world.maskinporten(null) })());
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', field: 'resource' });
    expect(world.aws.stsCalls).toBe(0);
  });
});

describe('transient STS failures', () => {
  it('5xx answers are retried by the STS client with the same token', async () => {
    world = await startWorld();
    world.aws.failNext({ count: 2, status: 503 });
    const credentials = await credentialsFor(world)();
    expect(credentials.accessKeyId).toMatch(/^ASIA/);
    expect(world.aws.stsCalls).toBe(3);
    expect(world.tokenRequests()).toBe(1);
  });

  it('lasting throttling ends in a retryable error, is not cached, and mints no token per attempt', async () => {
    world = await startWorld();
    world.aws.failNext({ count: 3, status: 400, code: 'Throttling' });
    const provider = credentialsFor(world);
    const error = await failure(provider());
    expect(error).toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', cloudCode: 'Throttling', isRetryable: true });
    expect(world.aws.stsCalls).toBe(3);
    expect(world.tokenRequests()).toBe(1);

    expect((await provider()).accessKeyId).toMatch(/^ASIA/);
    expect(world.aws.stsCalls).toBe(4);
    expect(world.tokenRequests()).toBe(1);
  });

  it('maxAttempts in clientConfig reaches the STS client', async () => {
    world = await startWorld();
    world.aws.failNext({ count: 5, status: 500 });
    const error = await failure(credentialsFor(world, { clientConfig: { endpoint: world.aws.stsEndpoint, maxAttempts: 1 } })());
    expect(error).toMatchObject({ cloudCode: 'InternalFailure', status: 500, isRetryable: true });
    expect(world.aws.stsCalls).toBe(1);
  });

  it('an unreachable STS endpoint is a retryable CloudExchangeError', async () => {
    world = await startWorld();
    const closed = world.aws.stsEndpoint;
    await world.aws.close();
    const error = await failure(credentialsFor(world, { clientConfig: { endpoint: closed, maxAttempts: 1 } })());
    expect(error).toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', cloud: 'aws', isRetryable: true });
  });
});

describe('option validation, when credentials are first asked for (decision 0015)', () => {
  it('requires roleArn or AWS_ROLE_ARN', async () => {
    const error = await deferred({ env: false });
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', field: 'roleArn' });
    expect(error.message).toContain('AWS_ROLE_ARN');
  });

  it.each(['arn:aws:iam::123456789012:user/alice', 'arn:aws:iam::1234:role/x', 'skyporten-reader', 'arn:aws:sts::123456789012:assumed-role/x/y'])(
    'rejects %s as a role ARN',
    async (roleArn) => {
      expect(await deferred({ roleArn, env: false })).toMatchObject({ code: 'CONFIG_INVALID', field: 'roleArn' });
    },
  );

  it('accepts role paths and other partitions', () => {
    for (const roleArn of ['arn:aws:iam::123456789012:role/path/to/reader', 'arn:aws-cn:iam::123456789012:role/reader', 'arn:aws-us-gov:iam::123456789012:role/r+=,.@-_']) {
      expect(typeof skyportenCredentials({ roleArn, env: false, maskinporten: fakeClient() })).toBe('function');
    }
  });

  it.each([0, 899, 43201, 1800.5, Number.NaN])('rejects durationSeconds %s', async (durationSeconds) => {
    expect(await deferred({ roleArn: ROLE_ARN, durationSeconds, env: false })).toMatchObject({ code: 'CONFIG_INVALID', field: 'durationSeconds' });
  });

  it.each([
    ['safetyMarginSeconds', -1],
    ['safetyMarginSeconds', Number.NaN],
    ['credentialRefreshAheadSeconds', -1],
    ['credentialRefreshAheadSeconds', Number.POSITIVE_INFINITY],
    ['credentialRefreshAheadSeconds', '600'],
  ] as const)('rejects %s %s', async (field, value) => {
    const error = await deferred({ roleArn: ROLE_ARN, [field]: value as number, env: false });
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', field });
    expect(error.message).toContain(`${field} is invalid`);
  });

  it.each(['a', 'has space', 'x'.repeat(65), 'slash/not-allowed'])('rejects roleSessionName %j', async (roleSessionName) => {
    expect(await deferred({ roleArn: ROLE_ARN, roleSessionName, env: false })).toMatchObject({ code: 'CONFIG_INVALID', field: 'roleSessionName' });
  });

  it('a Maskinporten option problem has the message, hint and field the ConfigError of createMaskinportenClient has', async () => {
    const maskinporten = { environment: 'test', scope: SCOPE, resource: RESOURCE, env: false } as const;
    const direct = catchSync(() => createMaskinportenClient(maskinporten)) as ConfigError;
    const error = await deferred({ roleArn: ROLE_ARN, maskinporten, env: false });
    expect({ message: error.message, hint: error.hint, field: error.field, code: error.code }).toEqual({ message: direct.message, hint: direct.hint, field: direct.field, code: direct.code });
    expect(String(error)).toBe(`CredentialsProviderError [CONFIG_INVALID]: ${direct.message}`);
  });

  it('carries a ConfigError\'s hint once: in hint, not in the message or String(error)', () => {
    const error = new DeferredConfigError(new ConfigError('roleArn', 'roleArn is missing.', { hint: 'Set AWS_ROLE_ARN.' }));
    expect(error).toMatchObject({ message: 'roleArn is missing.', hint: 'Set AWS_ROLE_ARN.', field: 'roleArn', code: 'CONFIG_INVALID' });
    expect(String(error)).not.toContain('Set AWS_ROLE_ARN.');
  });

  it('every call rejects again (nothing is cached), and an S3Client can still be built and fails on send', async () => {
    const provider = skyportenCredentials({ env: false });
    await expect(provider()).rejects.toBeInstanceOf(CredentialsProviderError);
    await expect(provider()).rejects.toBeInstanceOf(CredentialsProviderError);
    const s3 = new S3Client({ region: 'eu-north-1', credentials: provider });
    await expect(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'hello.txt' }))).rejects.toMatchObject({ name: 'CredentialsProviderError', field: 'roleArn' });
  });

  it('chain() and createCredentialChain() move on to the next provider', async () => {
    const fallback = { accessKeyId: 'AKIDFALLBACK', secretAccessKey: 'fallback-secret' };
    expect(await chain(skyportenCredentials({ env: false }), async () => fallback)()).toEqual(fallback);
    expect(await createCredentialChain(skyportenCredentials({ roleArn: 'not-an-arn', env: false }), async () => fallback)()).toEqual(fallback);
  });

  it('reads AWS_ROLE_ARN, AWS_ROLE_SESSION_NAME and AWS_ENDPOINT_URL_STS from env', async () => {
    world = await startWorld();
    const provider = skyportenCredentials({
      maskinporten: world.maskinporten(),
      env: { AWS_ROLE_ARN: ROLE_ARN, AWS_ROLE_SESSION_NAME: 'nightly-import', AWS_ENDPOINT_URL_STS: world.aws.stsEndpoint, AWS_REGION: 'eu-west-1' },
    });
    expect((await provider()).accessKeyId).toMatch(/^ASIA/);
    expect(world.aws.requests[0]).toMatchObject({ roleArn: ROLE_ARN, status: 200 });
  });
});

/** Creating the provider does not throw; calling it rejects with a CredentialsProviderError that is also a ConfigError. */
async function deferred(options: SkyportenCredentialsOptions): Promise<ConfigError & CredentialsProviderError> {
  const provider = skyportenCredentials(options);
  const error: unknown = await provider().then(
    () => {
      throw new Error('expected a failure');
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(CredentialsProviderError);
  expect(error).toMatchObject({ tryNextLink: true, isRetryable: false });
  expect(ConfigError.isInstance(error)).toBe(true);
  expect(SkyportenError.isInstance(error)).toBe(true);
  return error as ConfigError & CredentialsProviderError;
}

function catchSync(run: () => unknown): SkyportenError {
  try {
    run();
  } catch (error) {
    expect(SkyportenError.isInstance(error)).toBe(true);
    return error as SkyportenError;
  }
  throw new Error('expected a failure');
}

function fakeClient() {
  return {
    getToken: () => Promise.reject(new Error('unused')),
    getAccessToken: () => Promise.reject(new Error('unused')),
    invalidate: () => undefined,
    with: () => {
      throw new Error('unused');
    },
    peekToken: () => undefined,
    getTokenEndpoint: () => Promise.resolve('http://127.0.0.1:9/token'),
    issuer: 'http://127.0.0.1:9',
    clientId: 'client',
    scope: 'entur:skyporten.demo',
    resource: RESOURCE,
    consumerOrg: undefined,
  };
}
