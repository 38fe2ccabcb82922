export * from './credentials.js';
export { ENTRA_ERROR_HINTS, translateEntraError } from './errors.js';
export type { EntraFailure, EntraFailureContext } from './errors.js';
