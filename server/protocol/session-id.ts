// The one pattern a session id follows: 8 to 32 lowercase hex characters. The HTTP API, the socket
// events and the web app's routes check ids against it.

export const SESSION_ID = '[0-9a-f]{8,32}';
export const SESSION_ID_RE = new RegExp(`^${SESSION_ID}$`);
