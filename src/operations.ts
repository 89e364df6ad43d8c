/**
 * The API operations this package calls, named once: `src/client.ts` calls them, and
 * `npm run spec:update` keeps exactly these (plus what they reference) when it vendors an upstream document.
 */

/** Start an authorization: answers the consent `url`, `sessionId` and `expiresAt`. */
export const START_PATH = '/api/v2/channels/accounts/auth/{platform}' as const;
/** Query an authorization session: `pending`, then `completed` or `failed`. */
export const STATUS_PATH = '/api/v2/channels/accounts/auth/{platform}/status/{sessionId}' as const;

/** Every operation the package uses, as `method` (lower case, as in OpenAPI) and path template. */
export const OPERATIONS = [
  { name: 'start', method: 'get', path: START_PATH },
  { name: 'status', method: 'get', path: STATUS_PATH },
] as const;
