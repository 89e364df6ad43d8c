/** The API operations this package calls, named once (the client, the sandbox and `spec:update` read them). */
export const START_PATH = '/api/v2/channels/accounts/auth/{platform}' as const;
export const STATUS_PATH = '/api/v2/channels/accounts/auth/{platform}/status/{sessionId}' as const;

export const OPERATIONS = [
  { name: 'start', method: 'get', path: START_PATH },
  { name: 'status', method: 'get', path: STATUS_PATH },
] as const;
