import { GetObjectCommand } from '@aws-sdk/client-s3';
import { CloudExchangeError, ConfigError } from '@skyporten/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BUCKET, ORG, RESOURCE, ROLE_ARN, SCOPE, SUBJECT, credentialsFor, startWorld, type World } from './setup.ts';

const DATA_ROLE = 'arn:aws:iam::210987654321:role/shared-data-reader';
const ARCHIVE_ROLE = 'arn:aws:iam::333333333333:role/archive-reader';
const STRANGER_ROLE = 'arn:aws:iam::444444444444:role/trusts-nobody';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** The mock's roles: the web identity role, a data role it may assume, an archive role the data role may assume (with an external ID). */
function chainedWorld() {
  return startWorld({
    roles: [
      { roleArn: ROLE_ARN, trustPolicy: { sub: SUBJECT } },
      { roleArn: DATA_ROLE, trustPolicy: { roles: [ROLE_ARN] } },
      { roleArn: ARCHIVE_ROLE, trustPolicy: { roles: [DATA_ROLE], externalId: 'provider-issued-id' } },
      { roleArn: STRANGER_ROLE, trustPolicy: {} },
    ],
  });
}

const stsLog = (current: World) => current.aws.requests.filter((request) => request.service === 'sts');

describe('role chaining', () => {
  it('reads S3 with the chained role\'s credentials: AssumeRoleWithWebIdentity, then AssumeRole signed with the first role\'s key', async () => {
    world = await chainedWorld();
    const provider = credentialsFor(world, { chain: [{ roleArn: DATA_ROLE, durationSeconds: 900 }] });
    const object = await world.s3(provider).send(new GetObjectCommand({ Bucket: BUCKET, Key: 'hello.txt' }));
    expect(await object.Body?.transformToString()).toBe('Hello from Skyporten');

    const [web, chained, read] = world.aws.requests;
    expect(world.aws.requests).toHaveLength(3);
    expect(web).toMatchObject({ action: 'AssumeRoleWithWebIdentity', roleArn: ROLE_ARN, subject: SUBJECT, status: 200 });
    expect(chained).toMatchObject({ action: 'AssumeRole', roleArn: DATA_ROLE, status: 200 });
    expect(read).toMatchObject({ service: 's3', action: 'GetObject', status: 200 });
    // The AssumeRole call was signed with the first role's key; S3 with a newer one: the data role's.
    expect(chained?.accessKeyId).toMatch(/^ASIA/);
    expect(read?.accessKeyId).not.toBe(chained?.accessKeyId);
    expect((await provider()).accessKeyId).toBe(read?.accessKeyId);
  });

  it('caches and refreshes the chain as one, with the last role\'s expiry', async () => {
    world = await chainedWorld();
    const provider = credentialsFor(world, { durationSeconds: 3600, chain: [{ roleArn: DATA_ROLE }, { roleArn: ARCHIVE_ROLE, durationSeconds: 900, externalId: 'provider-issued-id' }] });
    const before = Date.now();
    const first = await provider();
    const lifetime = (first.expiration?.getTime() ?? 0) - before;
    expect(lifetime).toBeGreaterThan(898_000);
    expect(lifetime).toBeLessThanOrEqual(901_000);
    expect(stsLog(world).map((request) => [request.action, request.roleArn])).toEqual([
      ['AssumeRoleWithWebIdentity', ROLE_ARN],
      ['AssumeRole', DATA_ROLE],
      ['AssumeRole', ARCHIVE_ROLE],
    ]);
    const [, toData, toArchive] = stsLog(world);
    expect(toArchive?.accessKeyId).not.toBe(toData?.accessKeyId);

    expect((await provider()).accessKeyId).toBe(first.accessKeyId);
    expect(stsLog(world)).toHaveLength(3);
    const refreshed = await provider({ forceRefresh: true });
    expect(refreshed.accessKeyId).not.toBe(first.accessKeyId);
    expect(stsLog(world).map((request) => request.action)).toEqual(['AssumeRoleWithWebIdentity', 'AssumeRole', 'AssumeRole', 'AssumeRoleWithWebIdentity', 'AssumeRole', 'AssumeRole']);
  });

  it('a role the first may not assume is a CloudExchangeError naming both roles, with a trust-policy hint; nothing is cached', async () => {
    world = await chainedWorld();
    const provider = credentialsFor(world, { chain: [{ roleArn: STRANGER_ROLE }] });
    const error = await provider().catch((caught: unknown) => caught);
    expect(CloudExchangeError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'CLOUD_EXCHANGE_FAILED', cloud: 'aws', cloudCode: 'AccessDenied', status: 403, isRetryable: false });
    const { message, hint } = error as CloudExchangeError;
    expect(message).toContain(`AssumeRole for ${STRANGER_ROLE} (role chaining, with the credentials of ${ROLE_ARN})`);
    expect(hint).toContain(`The trust policy of ${STRANGER_ROLE} must allow sts:AssumeRole for the principal ${ROLE_ARN}`);
    expect(hint).toContain(`the permissions of ${ROLE_ARN} must allow sts:AssumeRole on ${STRANGER_ROLE}`);

    await expect(provider()).rejects.toMatchObject({ cloudCode: 'AccessDenied' });
    expect(stsLog(world).map((request) => request.action)).toEqual(['AssumeRoleWithWebIdentity', 'AssumeRole', 'AssumeRoleWithWebIdentity', 'AssumeRole']);
  });

  it('a missing external ID is AccessDenied with a hint naming externalId', async () => {
    world = await chainedWorld();
    const provider = credentialsFor(world, { chain: [{ roleArn: DATA_ROLE }, { roleArn: ARCHIVE_ROLE }] });
    await expect(provider()).rejects.toMatchObject({ cloudCode: 'AccessDenied', hint: expect.stringContaining('set externalId on that chain entry') });
  });

  it('a chained durationSeconds above one hour is a configuration error on the first call, naming the entry', async () => {
    world = await chainedWorld();
    const tooLong = credentialsFor(world, { chain: [{ roleArn: DATA_ROLE }, { roleArn: ARCHIVE_ROLE, durationSeconds: 7200 }] });
    const error = await tooLong().catch((caught: unknown) => caught);
    expect(ConfigError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ field: 'chain[1].durationSeconds', tryNextLink: true });
    await expect(credentialsFor(world, { chain: [{ roleArn: 'not-an-arn' }] })()).rejects.toMatchObject({ field: 'chain[0].roleArn' });
    await expect(credentialsFor(world, { chain: [{ roleArn: DATA_ROLE, roleSessionName: 'has space' }] })()).rejects.toMatchObject({ field: 'chain[0].roleSessionName' });
    await expect(credentialsFor(world, { chain: [{ roleArn: DATA_ROLE, externalId: 'x' }] })()).rejects.toMatchObject({ field: 'chain[0].externalId' });
    expect(world.aws.requests).toHaveLength(0);
  });
});

describe('RoleSessionName', () => {
  it('defaults to skyporten-<organisation number>-<random>, the same in every call of the chain and across refreshes', async () => {
    world = await chainedWorld();
    const provider = credentialsFor(world, { chain: [{ roleArn: DATA_ROLE }] });
    await provider();
    await provider({ forceRefresh: true });
    const names = stsLog(world).map((request) => request.roleSessionName);
    expect(names[0]).toMatch(new RegExp(`^skyporten-${ORG}-[0-9a-f]{8}$`));
    expect(new Set(names)).toEqual(new Set([names[0]]));
    expect(names).toHaveLength(4);

    await credentialsFor(world)();
    const other = stsLog(world).at(-1)?.roleSessionName;
    expect(other).toMatch(new RegExp(`^skyporten-${ORG}-[0-9a-f]{8}$`));
    expect(other).not.toBe(names[0]);
  });

  it.each([
    ['no consumer claim', undefined, /^skyporten-[0-9a-f]{8}$/],
    ['a consumer ID with characters a session name cannot hold, cut to 64', { authority: 'iso6523-actorid-upis', ID: `0192:${'9 8/7'.repeat(20)}` }, /^skyporten-(?:987){15}-[0-9a-f]{8}$/],
  ])('%s: still a valid session name', async (_, consumer, expected) => {
    world = await chainedWorld();
    const maskinporten = world.maskinporten();
    const issuer = world.issuer;
    vi.spyOn(maskinporten, 'getAccessToken').mockImplementation(() => issuer.signAccessToken({ aud: RESOURCE, sub: SUBJECT, scope: SCOPE, ...(consumer ? { consumer } : {}) }));
    await credentialsFor(world, { maskinporten })();
    const name = stsLog(world)[0]?.roleSessionName ?? '';
    expect(name).toMatch(expected);
    expect(name.length).toBeLessThanOrEqual(64);
  });

  it('an explicit roleSessionName wins, and a chain entry may set its own', async () => {
    world = await chainedWorld();
    await credentialsFor(world, { roleSessionName: 'nightly-import', chain: [{ roleArn: DATA_ROLE, roleSessionName: 'nightly-data' }] })();
    expect(stsLog(world).map((request) => request.roleSessionName)).toEqual(['nightly-import', 'nightly-data']);
  });
});
