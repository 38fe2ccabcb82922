export { createMockSkyporten } from './issuer.js';
export type { MockSkyporten } from './issuer.js';
export { createMockSkyportenHandlers, DEFAULT_HANDLERS_ISSUER } from './msw-handlers.js';
export type { MockSkyportenHandlers } from './msw-handlers.js';
export type { MockIssuerControls } from './controls.js';
export type { MockSkyportenOptions } from './options.js';
export type {
  Delegation,
  InjectedFailure,
  RecordedTokenRequest,
  RegisterClientOptions,
  RegisteredClient,
} from './engine.js';
export { createTestCertificate, certificateToX5c } from './certificate.js';
export type { TestCertificateOptions } from './certificate.js';
export type { KeyInput } from './keys.js';
export { isValidOrganisationNumber } from './organisation-number.js';
export { createMockAws } from './aws.js';
export type { MockAws, MockAwsFailure, MockAwsOptions, MockAwsRole, RecordedAwsRequest } from './aws.js';
export { createMockGcp } from './gcp.js';
export type { MockGcp, MockGcpAttributes, MockGcpBinding, MockGcpCounters, MockGcpFailure, MockGcpOptions, MockGcpRequest, MockGcpService } from './gcp.js';
