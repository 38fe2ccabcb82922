import type { Command } from 'commander';
import { ConfigError, isValidOrganisationNumber, isValidScope, SKYPORTEN_ISSUERS } from '@skyporten/core';
import { json } from '../output.js';
import {
  awsProviderUrl,
  awsSubjectConditionKey,
  clientAccess,
  clientAccessMember,
  GCP_ATTRIBUTE_MAPPING,
  poolName,
  skyportenSubject,
} from '../matching.js';
import { examples, type Runtime } from '../runtime.js';

type Format = 'text' | 'json' | 'terraform' | 'shell';

interface ProviderFlags {
  org: string;
  scope: string;
  audience: string;
  env?: string;
  issuer?: string;
  format: string;
  accountId?: string;
  roleName?: string;
  projectNumber?: string;
  pool?: string;
  providerId?: string;
  serviceAccount?: string;
  identityName?: string;
  resourceGroup?: string;
  credentialName?: string;
}

/** What every cloud's setup is derived from, validated. */
interface ProviderInput {
  issuer: string;
  consumerId: string;
  organisationNumber: string;
  scope: string;
  audience: string;
  subject: string;
  flags: ProviderFlags;
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

function hcl(value: string): string {
  return JSON.stringify(value).replace(/\$\{/g, '$${');
}

/** Checks the flags and derives the subject. Errors name the flag and the fix. */
export function providerInput(flags: ProviderFlags): ProviderInput {
  const org = flags.org.trim();
  const match = /^(?:(\d{4}):)?(\S+)$/.exec(org);
  if (match === null || (match[1] !== undefined && match[1] !== '0192')) {
    throw new ConfigError('--org', `--org "${org}" is not 0192:<organisation number>.`, { hint: 'Give the consumer\'s Norwegian organisation number, e.g. --org 0192:991825827.' });
  }
  const organisationNumber = match[2]!;
  if (!isValidOrganisationNumber(organisationNumber)) {
    throw new ConfigError('--org', `--org "${org}" is not a valid Norwegian organisation number: nine digits whose last is the modulus-11 check digit.`, {
      hint: 'Copy it from the Brønnøysund register (brreg.no); a typo usually breaks the check digit.',
    });
  }
  const scope = flags.scope.trim();
  if (/\s/.test(scope)) {
    throw new ConfigError('--scope', `--scope "${scope}" holds several scopes: the token's sub carries one scope, so set up one scope per trust relationship.`);
  }
  if (!isValidScope(scope)) {
    throw new ConfigError('--scope', `--scope "${scope}" is not a Maskinporten scope: expected <prefix>:<name>, e.g. entur:skyporten.demo.`);
  }
  let audienceUrl: URL | undefined;
  try {
    audienceUrl = new URL(flags.audience);
  } catch {
    audienceUrl = undefined;
  }
  if (audienceUrl === undefined || /\s/.test(flags.audience)) {
    throw new ConfigError('--audience', `--audience "${flags.audience}" is not an absolute URI.`, {
      hint: 'Use the audience consumers ask Maskinporten for as resource, e.g. https://skyporten.example.org.',
    });
  }
  if (flags.env !== undefined && flags.issuer !== undefined) throw new ConfigError('--issuer', 'Give --env or --issuer, not both.');
  const environment = flags.env ?? 'test';
  if (environment !== 'test' && environment !== 'prod') throw new ConfigError('--env', `--env "${environment}": use test or prod.`);
  const issuer = flags.issuer ?? SKYPORTEN_ISSUERS[environment];
  const consumerId = `0192:${organisationNumber}`;
  return { issuer, consumerId, organisationNumber, scope, audience: flags.audience, subject: skyportenSubject(consumerId, scope), flags };
}

function sanitizeName(value: string, maxLength: number): string {
  return value.replace(/[^A-Za-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, maxLength);
}

function aws(input: ProviderInput, format: Format): string {
  const { issuer, audience, subject } = input;
  const accountId = input.flags.accountId ?? '<ACCOUNT_ID>';
  if (input.flags.accountId !== undefined && !/^\d{12}$/.test(accountId)) throw new ConfigError('--account-id', `--account-id "${accountId}" is not a 12-digit AWS account id.`);
  const roleName = input.flags.roleName ?? sanitizeName(`skyporten-${input.organisationNumber}-${input.scope}`, 64);
  const host = awsProviderUrl(issuer).replace(/^https?:\/\//, '');
  const providerArn = `arn:aws:iam::${accountId}:oidc-provider/${host}`;
  const conditionKey = awsSubjectConditionKey(issuer);
  const audienceKey = conditionKey.replace(/:sub$/, ':aud');
  const trustPolicy = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: providerArn },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: { StringEquals: { [conditionKey]: subject, [audienceKey]: audience } },
      },
    ],
  };
  const oidcProvider = { Url: awsProviderUrl(issuer), ClientIDList: [audience] };
  const roleArn = `arn:aws:iam::${accountId}:role/${roleName}`;
  switch (format) {
    case 'json':
      return json({ cloud: 'aws', openIdConnectProvider: oidcProvider, role: { RoleName: roleName, Arn: roleArn, AssumeRolePolicyDocument: trustPolicy } });
    case 'shell':
      return [
        '# One OIDC provider per account and issuer; add further audiences with add-client-id-to-open-id-connect-provider.',
        `aws iam create-open-id-connect-provider --url ${shellQuote(oidcProvider.Url)} --client-id-list ${shellQuote(audience)}`,
        `aws iam create-role --role-name ${shellQuote(roleName)} --max-session-duration 3600 --assume-role-policy-document ${shellQuote(JSON.stringify(trustPolicy))}`,
        `# Then grant the role read access, e.g.: aws iam put-role-policy --role-name ${shellQuote(roleName)} --policy-name read --policy-document file://read.json`,
        '',
      ].join('\n');
    case 'terraform':
      return [
        'resource "aws_iam_openid_connect_provider" "skyporten" {',
        `  url            = ${hcl(oidcProvider.Url)}`,
        `  client_id_list = [${hcl(audience)}]`,
        '}',
        '',
        `resource "aws_iam_role" ${hcl(sanitizeName(roleName, 64).replace(/-/g, '_'))} {`,
        `  name = ${hcl(roleName)}`,
        '  assume_role_policy = jsonencode({',
        '    Version = "2012-10-17"',
        '    Statement = [{',
        '      Effect    = "Allow"',
        '      Principal = { Federated = aws_iam_openid_connect_provider.skyporten.arn }',
        '      Action    = "sts:AssumeRoleWithWebIdentity"',
        '      Condition = {',
        '        StringEquals = {',
        `          ${hcl(conditionKey)} = ${hcl(subject)}`,
        `          ${hcl(audienceKey)} = ${hcl(audience)}`,
        '        }',
        '      }',
        '    }]',
        '  })',
        '}',
        '',
      ].join('\n');
    default:
      return [
        `AWS setup for ${input.consumerId} with scope ${input.scope} (issuer ${issuer})`,
        '',
        '1. IAM OIDC identity provider (one per account and issuer):',
        `   URL             ${oidcProvider.Url}`,
        `   Client ID list  ${audience}   (the audience consumers ask for as resource)`,
        '',
        `2. Role ${roleName}, trust policy:`,
        JSON.stringify(trustPolicy, null, 2).replace(/^/gm, '   '),
        '',
        '3. Grant the role read access to the shared data, and send the consumer:',
        `   role ARN ${roleArn}, resource ${audience}, scope ${input.scope}`,
        '',
      ].join('\n');
  }
}

function gcp(input: ProviderInput, format: Format): string {
  const { issuer, audience, consumerId, scope } = input;
  const projectNumber = input.flags.projectNumber ?? '<PROJECT_NUMBER>';
  if (input.flags.projectNumber !== undefined && !/^\d+$/.test(projectNumber)) {
    throw new ConfigError('--project-number', `--project-number "${projectNumber}" is not a project NUMBER (digits).`, {
      hint: 'gcloud projects describe <PROJECT_ID> --format="value(projectNumber)"',
    });
  }
  const pool = input.flags.pool ?? 'skyporten';
  const providerId = input.flags.providerId ?? 'maskinporten';
  for (const [flag, id] of [['--pool', pool], ['--provider-id', providerId]] as const) {
    if (!/^[a-z0-9-]{4,32}$/.test(id)) throw new ConfigError(flag, `${flag} "${id}" must be 4-32 lowercase letters, digits or hyphens.`);
  }
  const serviceAccount = input.flags.serviceAccount ?? '<SERVICE_ACCOUNT_EMAIL>';
  const member = clientAccessMember(projectNumber, pool, consumerId, scope);
  const consumerAudience = `//iam.googleapis.com/${poolName(projectNumber, pool)}/providers/${providerId}`;
  const mapping = Object.entries(GCP_ATTRIBUTE_MAPPING).map(([key, value]) => `${key}=${value}`).join(',');
  switch (format) {
    case 'json':
      return json({
        cloud: 'gcp',
        workloadIdentityPool: { name: poolName(projectNumber, pool), poolId: pool },
        provider: { providerId, oidc: { issuerUri: issuer, allowedAudiences: [audience] }, attributeMapping: GCP_ATTRIBUTE_MAPPING },
        binding: { serviceAccount, role: 'roles/iam.workloadIdentityUser', member },
        consumerAudience,
      });
    case 'shell':
      return [
        `gcloud iam workload-identity-pools create ${pool} --location=global --display-name=Skyporten`,
        `gcloud iam workload-identity-pools providers create-oidc ${providerId} --location=global --workload-identity-pool=${pool} \\`,
        `  --issuer-uri=${shellQuote(issuer)} --allowed-audiences=${shellQuote(audience)} \\`,
        `  --attribute-mapping=${shellQuote(mapping)}`,
        `gcloud iam service-accounts add-iam-policy-binding ${shellQuote(serviceAccount)} --role=roles/iam.workloadIdentityUser \\`,
        `  --member=${shellQuote(member)}`,
        '',
      ].join('\n');
    case 'terraform':
      return [
        'resource "google_iam_workload_identity_pool" "skyporten" {',
        `  workload_identity_pool_id = ${hcl(pool)}`,
        '}',
        '',
        'resource "google_iam_workload_identity_pool_provider" "maskinporten" {',
        '  workload_identity_pool_id          = google_iam_workload_identity_pool.skyporten.workload_identity_pool_id',
        `  workload_identity_pool_provider_id = ${hcl(providerId)}`,
        '  attribute_mapping = {',
        ...Object.entries(GCP_ATTRIBUTE_MAPPING).map(([key, value]) => `    ${hcl(key)} = ${hcl(value)}`),
        '  }',
        '  oidc {',
        `    issuer_uri        = ${hcl(issuer)}`,
        `    allowed_audiences = [${hcl(audience)}]`,
        '  }',
        '}',
        '',
        `resource "google_service_account_iam_member" ${hcl(sanitizeName(`skyporten-${input.organisationNumber}`, 64).replace(/-/g, '_'))} {`,
        `  service_account_id = ${input.flags.serviceAccount === undefined ? '"projects/<PROJECT_ID>/serviceAccounts/<SERVICE_ACCOUNT_EMAIL>"' : hcl(`projects/-/serviceAccounts/${serviceAccount}`)}`,
        '  role               = "roles/iam.workloadIdentityUser"',
        `  member             = "principalSet://iam.googleapis.com/\${google_iam_workload_identity_pool.skyporten.name}/attribute.clientaccess/${clientAccess(consumerId, scope)}"`,
        '}',
        '',
      ].join('\n');
    default:
      return [
        `GCP setup for ${consumerId} with scope ${scope} (issuer ${issuer})`,
        '',
        `1. Workload identity pool ${pool}, OIDC provider ${providerId}:`,
        `   issuer-uri         ${issuer}`,
        `   allowed audiences  ${audience}`,
        '   attribute mapping',
        ...Object.entries(GCP_ATTRIBUTE_MAPPING).map(([key, value]) => `     ${key} = ${value}`),
        '',
        `2. On service account ${serviceAccount}, grant roles/iam.workloadIdentityUser to`,
        `   ${member}`,
        '   and grant the service account read access to the shared data.',
        '',
        '3. Send the consumer:',
        `   audience ${consumerAudience}`,
        `   service account ${serviceAccount}, resource ${audience}, scope ${scope}`,
        '',
      ].join('\n');
  }
}

function azure(input: ProviderInput, format: Format): string {
  const { issuer, audience, subject } = input;
  const identityName = input.flags.identityName ?? sanitizeName(`skyporten-${input.organisationNumber}`, 128);
  const resourceGroup = input.flags.resourceGroup ?? '<RESOURCE_GROUP>';
  const credentialName = input.flags.credentialName ?? sanitizeName(`skyporten-${input.organisationNumber}-${input.scope}`, 120);
  const credential = { name: credentialName, issuer, subject, audiences: [audience], description: `Skyporten: ${input.consumerId} with scope ${input.scope}` };
  switch (format) {
    case 'json':
      return json({ cloud: 'azure', userAssignedIdentity: { name: identityName, resourceGroup }, federatedIdentityCredential: credential });
    case 'shell':
      return [
        `az identity create --name ${shellQuote(identityName)} --resource-group ${shellQuote(resourceGroup)}`,
        `az identity federated-credential create --name ${shellQuote(credentialName)} --identity-name ${shellQuote(identityName)} --resource-group ${shellQuote(resourceGroup)} \\`,
        `  --issuer ${shellQuote(issuer)} --subject ${shellQuote(subject)} --audiences ${shellQuote(audience)}`,
        `# Send the consumer the tenant id and the identity's CLIENT id (not its principal id): az identity show --name ${shellQuote(identityName)} --resource-group ${shellQuote(resourceGroup)} --query clientId`,
        '',
      ].join('\n');
    case 'terraform':
      return [
        `resource "azurerm_user_assigned_identity" "skyporten" {`,
        `  name                = ${hcl(identityName)}`,
        `  resource_group_name = ${hcl(resourceGroup)}`,
        '  location            = "norwayeast"',
        '}',
        '',
        'resource "azurerm_federated_identity_credential" "skyporten" {',
        `  name                = ${hcl(credentialName)}`,
        '  resource_group_name = azurerm_user_assigned_identity.skyporten.resource_group_name',
        '  parent_id           = azurerm_user_assigned_identity.skyporten.id',
        `  issuer              = ${hcl(issuer)}`,
        `  subject             = ${hcl(subject)}`,
        `  audience            = [${hcl(audience)}]`,
        '}',
        '',
      ].join('\n');
    default:
      return [
        `Azure setup for ${input.consumerId} with scope ${input.scope}`,
        '',
        `1. A user-assigned managed identity (or app registration), e.g. ${identityName} in ${resourceGroup}.`,
        `2. Federated identity credential ${credentialName}:`,
        `   issuer     ${issuer}   (exactly: no trailing slash for Skyporten)`,
        `   subject    ${subject}`,
        `   audiences  ${audience}`,
        '3. Grant the identity read access (e.g. Storage Blob Data Reader on the container), and send the consumer',
        '   the tenant id and the identity\'s CLIENT id (not its principal/object id: that gives AADSTS700016).',
        '',
      ].join('\n');
  }
}

/** `skyporten provider aws|gcp|azure`. */
export function registerProviderCommand(program: Command, runtime: Runtime): void {
  const command = program
    .command('provider')
    .description('for data providers: the cloud-side setup that lets one organisation with one scope in (IAM OIDC provider and trust policy, workload identity pool, or federated identity credential)')
    .argument('<cloud>', 'aws, gcp or azure')
    .requiredOption('--org <orgno>', "the consumer's organisation number, 0192:NNNNNNNNN")
    .requiredOption('--scope <scope>', 'the Maskinporten scope the consumer was granted')
    .requiredOption('--audience <uri>', 'the audience consumers ask for as resource, e.g. https://skyporten.example.org')
    .option('--env <environment>', 'Skyporten environment: test or prod', undefined)
    .option('--issuer <url>', 'issuer URL instead of --env')
    .option('--format <format>', 'text, json, terraform or shell', 'text')
    .option('--account-id <id>', 'AWS: the 12-digit account id')
    .option('--role-name <name>', 'AWS: the role name')
    .option('--project-number <number>', 'GCP: the project NUMBER that owns the pool')
    .option('--pool <id>', 'GCP: the workload identity pool id', undefined)
    .option('--provider-id <id>', 'GCP: the OIDC provider id', undefined)
    .option('--service-account <email>', 'GCP: the service account consumers impersonate')
    .option('--identity-name <name>', 'Azure: the user-assigned managed identity')
    .option('--resource-group <name>', 'Azure: its resource group')
    .option('--credential-name <name>', 'Azure: the federated credential name')
    .addHelpText(
      'after',
      examples(
        'skyporten provider aws --org 0192:991825827 --scope entur:skyporten.demo --audience https://skyporten.example.org --env prod --account-id 123456789012',
        'skyporten provider gcp --org 991825827 --scope entur:skyporten.demo --audience https://skyporten.example.org --project-number 123456789012 --format terraform',
        'skyporten provider azure --org 991825827 --scope entur:skyporten.demo --audience https://skyporten.example.org --format shell',
      ),
    )
    .action((cloud: string, flags: ProviderFlags) => {
      const formats: Format[] = ['text', 'json', 'terraform', 'shell'];
      if (!formats.includes(flags.format as Format)) throw new ConfigError('--format', `--format "${flags.format}": use text, json, terraform or shell.`);
      const generators: Record<string, (input: ProviderInput, format: Format) => string> = { aws, gcp, azure };
      const generate = generators[cloud];
      if (generate === undefined) throw new ConfigError('<cloud>', `Unknown cloud "${cloud}": use aws, gcp or azure.`);
      runtime.context.stdout.write(generate(providerInput(flags), flags.format as Format));
    });
}
