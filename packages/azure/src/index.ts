export { createAssertionSupplier, skyportenCredentials, type SkyportenTokenCredential } from './credentials.js';
export { ENTRA_ERROR_HINTS, translateEntraError, type EntraFailureContext } from './errors.js';
export type { EntraFailure } from './failure-recorder.js';
export { DEFAULT_AUTHORITY_HOST, type SkyportenCredentialsOptions } from './options.js';
