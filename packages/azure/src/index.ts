export { createAssertionSupplier, skyportenCredentials, type SkyportenTokenCredential } from './credentials.js';
export { ENTRA_ERROR_HINTS, translateEntraError, type EntraFailure, type EntraFailureContext } from './errors.js';
export { DEFAULT_AUTHORITY_HOST, type SkyportenCredentialsOptions } from './options.js';
