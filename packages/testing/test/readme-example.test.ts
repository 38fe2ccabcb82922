import { SignJWT, importPKCS8 } from 'jose';
import { expect, test } from 'vitest';
import { createMockSkyporten } from '@skyporten/testing';

// Keep in sync with the first example in README.md.
test('gets a token', async () => {
  const issuer = await createMockSkyporten();
  const client = await issuer.registerClient({ scopes: ['entur:skyporten.demo'] });
  const grant = await new SignJWT({ scope: 'entur:skyporten.demo', jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: 'RS256', kid: client.kid }).setIssuer(client.clientId).setAudience(issuer.issuer)
    .setIssuedAt().setExpirationTime('60s').sign(await importPKCS8(client.privateKey, 'RS256'));
  const response = await fetch(issuer.tokenEndpoint, { method: 'POST', body: new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: grant }) });
  expect(response.status).toBe(200);
  await issuer.close();
});
