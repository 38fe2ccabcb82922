export {
  createAssertionSupplier,
  DEFAULT_AUTHORITY_HOST,
  skyportenCredentials,
  type SkyportenCredentialsOptions,
  type SkyportenTokenCredential,
} from './credentials.js';
export { ENTRA_ERROR_HINTS, translateEntraError, type EntraFailureContext } from './errors.js';
export type { EntraFailure } from './failure-recorder.js';
