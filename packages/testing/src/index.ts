export { createMockSkyporten } from './issuer.js';
export type {
  Delegation,
  InjectedFailure,
  MockIssuerControls,
  MockSkyporten,
  MockSkyportenOptions,
  RecordedTokenRequest,
  RegisterClientOptions,
  RegisteredClient,
} from './issuer.js';
export type { MockFailure, MockLifecycle } from './mock-service.js';
export type { MockIssuerReference } from './cloud.js';
export { createTestCertificate, certificateToX5c, createLocalTlsCertificate } from './tls-certificate.js';
export type { LocalTlsCertificate, LocalTlsCertificateOptions, TestCertificateOptions } from './tls-certificate.js';
export type { KeyInput } from './keys.js';
export { isValidOrganisationNumber } from './organisation-number.js';
export { createMockAws } from './aws.js';
export type { MockAws, MockAwsFailure, MockAwsOptions, MockAwsRole, MockAwsService, RecordedAwsRequest } from './aws.js';
export { createMockGcp } from './gcp.js';
export type { MockGcp, MockGcpAttributes, MockGcpBinding, MockGcpCounters, MockGcpFailure, MockGcpOptions, MockGcpRequest, MockGcpService } from './gcp.js';
export { createMockBigQuery } from './bigquery.js';
export type {
  MockBigQuery,
  MockBigQueryCounters,
  MockBigQueryFailure,
  MockBigQueryOptions,
  MockBigQueryRequest,
  MockBigQueryRow,
  MockBigQueryTokenVerifier,
  MockBigQueryValue,
} from './bigquery.js';
export { createMockEntraId } from './azure.js';
export type {
  MockEntraApplication,
  MockEntraFailure,
  MockEntraId,
  MockEntraIdOptions,
  MockEntraTokenRequest,
  MockFederatedCredential,
} from './azure.js';
export { AZURITE_ACCOUNT_KEY, AZURITE_ACCOUNT_NAME, startAzurite } from './azurite.js';
export type { RunningAzurite, StartAzuriteOptions } from './azurite.js';
export { createTestProxy } from './proxy.js';
export type { TestProxy } from './proxy.js';
