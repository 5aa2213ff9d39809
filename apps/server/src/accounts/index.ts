/** The accounts folder's public surface: Accounts (what routes and the WebSocket upgrade call) and its helpers. */
export {
  Accounts,
  DEFAULT_ATTEMPT_LIMITS,
  type AccountsOptions,
  type AccountStorage,
  type AttemptLimits,
  type AuthFailure,
  type AuthMode,
  type ConnectionAuth,
  type Identity,
  type Revocation,
  type SignedIn,
  type TokenCheck,
  type TokenProblem,
} from './accounts.js';
export { accountsFromConfig } from './from-config.js';
export { bearerToken, tokenFromProtocols, AUTH_SUBPROTOCOL_PREFIX } from './token-transport.js';
export type { PublicUser } from './api-schemas.js';
export { PasswordHasher, DEFAULT_SCRYPT_PARAMS, type ScryptParams } from './passwords.js';
