// The forms of the plain values a learner's requests carry, written once for the shapes, the
// query parameters and the service update.

/** A container, network or service reference: a name or an id (a leading / as Docker writes names). */
export const REF = /^\/?[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** A network alias. */
export const ALIAS = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/** A signal: a name (with or without SIG) or a number. */
export const SIGNAL = /^(SIG)?[A-Z0-9+-]{1,12}$|^\d{1,2}$/;
/** A user, with an optional group. */
export const USER = /^[A-Za-z0-9_.:-]{0,64}$/;
export const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
