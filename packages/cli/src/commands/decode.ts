import type { Command } from 'commander';
import { ConfigError, decodeSkyportenToken, type DecodedSkyportenToken } from '@skyporten/core';
import { formatDuration, formatTime, json } from '../output.js';
import { awsSubjectConditionKey, clientAccess, clientAccessMember, isSkyportenSubject } from '../matching.js';
import { examples, type Runtime } from '../runtime.js';

function noToken(): ConfigError {
  return new ConfigError('TOKEN', 'No token given.', { hint: 'Give the token as an argument, or pipe it: skyporten token | skyporten decode -' });
}

async function readStdin(runtime: Runtime): Promise<string> {
  if (runtime.context.stdin.isTTY === true) {
    throw noToken();
  }
  let text = '';
  for await (const chunk of runtime.context.stdin) text += String(chunk);
  return text;
}

/** What each cloud will match for this token. */
export function cloudMatching(decoded: DecodedSkyportenToken): Record<string, Record<string, string | string[]>> {
  const subject = decoded.subject ?? '(no sub)';
  const consumerId = decoded.consumerId ?? '(no consumer.ID)';
  const scope = decoded.scope ?? '(no scope)';
  return {
    aws: {
      oidcProviderUrl: decoded.issuer.replace(/\/+$/, ''),
      clientIdList: decoded.audience,
      trustPolicyCondition: `StringEquals "${awsSubjectConditionKey(decoded.issuer)}": "${subject}"`,
    },
    gcp: {
      issuerUri: decoded.issuer,
      allowedAudiences: decoded.audience,
      'google.subject': consumerId,
      'attribute.maskinportenscope': scope,
      'attribute.clientaccess': clientAccess(consumerId, scope),
      principalSet: clientAccessMember('<PROJECT_NUMBER>', '<POOL>', consumerId, scope),
    },
    azure: { issuer: decoded.issuer, subject, audiences: decoded.audience },
  };
}

/** Problems a cloud would trip over, in words. */
export function tokenWarnings(decoded: DecodedSkyportenToken): string[] {
  const warnings: string[] = [];
  if (decoded.audience.length === 0) warnings.push('The token has no aud: every cloud rejects it. Ask for it with --resource (SKYPORTEN_RESOURCE).');
  if (decoded.subject === undefined) warnings.push('The token has no sub: AWS and Azure cannot match it.');
  else if (!isSkyportenSubject(decoded.subject)) {
    warnings.push(`The sub "${decoded.subject}" is not "<consumer>;<scope>": AWS trust policies and Azure federated credentials written for Skyporten will not match it.`);
  }
  return warnings;
}

/** `skyporten decode`. */
export function registerDecodeCommand(program: Command, runtime: Runtime): void {
  const command = program
    .command('decode')
    .description('show a token\'s claims, its expiry, and what AWS, GCP and Azure will match (does not verify the signature)')
    .argument('[token]', 'the access token, or - to read it from stdin (the default when stdin is a pipe)')
    .option('--json', 'print the claims and the cloud matching as JSON')
    .addHelpText('after', examples('skyporten token --config skyporten.json | skyporten decode', 'skyporten decode eyJhbGciOi...'))
    .action(async (argument: string | undefined) => {
      const token = (argument === undefined || argument === '-' ? await readStdin(runtime) : argument).trim();
      if (token === '') {
        throw noToken();
      }
      const decoded = decodeSkyportenToken(token);
      const now = runtime.context.clock();
      const secondsLeft = decoded.expiresAt === undefined ? undefined : (decoded.expiresAt.getTime() - now) / 1000;
      const clouds = cloudMatching(decoded);
      const warnings = tokenWarnings(decoded);
      const { stdout } = runtime.context;
      if (command.opts<{ json?: boolean }>().json === true) {
        stdout.write(json({ claims: decoded.claims, secondsLeft: secondsLeft === undefined ? null : Math.floor(secondsLeft), clouds, warnings }));
        return;
      }
      const { claims } = decoded;
      const rows: Array<[string, string | undefined]> = [
        ['Issuer', decoded.issuer],
        ['Audience', decoded.audience.length === 0 ? '(none)' : decoded.audience.join(', ')],
        ['Subject', decoded.subject],
        ['Scope', decoded.scope],
        ['Consumer', decoded.consumerId],
        ['Supplier', claims.supplier?.ID],
        ['Client id', claims.client_id],
        ['Issued at', typeof claims.iat === 'number' ? formatTime(claims.iat, now) : undefined],
        ['Expires at', typeof claims.exp === 'number' ? formatTime(claims.exp, now) : undefined],
        ['Time left', secondsLeft === undefined ? undefined : formatDuration(secondsLeft)],
      ];
      const lines = rows.filter(([, value]) => value !== undefined).map(([label, value]) => `${label.padEnd(11)} ${value}`);
      lines.push('', 'What each cloud matches:');
      lines.push(`  AWS    OIDC provider ${clouds.aws!.oidcProviderUrl}, client id list ${list(decoded.audience)}`);
      lines.push(`         trust policy: ${clouds.aws!.trustPolicyCondition}`);
      lines.push(`  GCP    issuer-uri ${decoded.issuer}, allowed audiences ${list(decoded.audience)}`);
      lines.push(`         google.subject=${clouds.gcp!['google.subject']}  attribute.clientaccess=${clouds.gcp!['attribute.clientaccess']}`);
      lines.push(`         member: ${clouds.gcp!.principalSet}`);
      lines.push(`  Azure  federated credential: issuer ${decoded.issuer} (exactly), subject ${decoded.subject ?? '(none)'}, audience ${list(decoded.audience)}`);
      for (const warning of warnings) lines.push(`✗ ${warning}`);
      stdout.write(`${lines.join('\n')}\n`);
    });
}

function list(values: string[]): string {
  return values.length === 0 ? '(none: the token has no aud)' : values.join(', ');
}
