// The one pattern a lab id follows: kebab-case, like "bridge-basics". The lab format, the HTTP API
// and the workshop protocol check ids against it.

export const LAB_ID_RE = /^[a-z0-9]+(-[a-z0-9]+)*$/;
export const LAB_ID_WORDS = 'a lab id like "bridge-basics" (lowercase letters and digits, in words joined by -)';
