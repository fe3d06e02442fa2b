/** 802.11 frame type and subtype names of the `type`/`subtype` primitives (grammar.y's tables). */

export const IEEE80211_FC0_TYPE_MASK = 0x0c;
export const IEEE80211_FC0_SUBTYPE_MASK = 0xf0;
export const IEEE80211_FC1_DIR_MASK = 0x03;

/** Type names → FC0 type bits. */
export const WLAN_TYPES: readonly (readonly [string, number])[] = [
  ['data', 0x08], ['mgt', 0x00], ['management', 0x00], ['ctl', 0x04], ['control', 0x04],
];

/** Per type (in libpcap's search order: mgt, ctl, data): subtype names → FC0 subtype bits. */
export const WLAN_SUBTYPES: readonly (readonly [number, readonly (readonly [string, number])[]])[] = [
  [0x00, [
    ['assocreq', 0x00], ['assoc-req', 0x00], ['assocresp', 0x10], ['assoc-resp', 0x10], ['reassocreq', 0x20],
    ['reassoc-req', 0x20], ['reassocresp', 0x30], ['reassoc-resp', 0x30], ['probereq', 0x40], ['probe-req', 0x40],
    ['proberesp', 0x50], ['probe-resp', 0x50], ['beacon', 0x80], ['atim', 0x90], ['disassoc', 0xa0],
    ['disassociation', 0xa0], ['auth', 0xb0], ['authentication', 0xb0], ['deauth', 0xc0], ['deauthentication', 0xc0],
  ]],
  [0x04, [
    ['bar', 0x80], ['ba', 0x90], ['ps-poll', 0xa0], ['rts', 0xb0], ['cts', 0xc0], ['ack', 0xd0], ['cf-end', 0xe0],
    ['cf-end-ack', 0xf0],
  ]],
  [0x08, [
    ['data', 0x00], ['data-cf-ack', 0x10], ['data-cf-poll', 0x20], ['data-cf-ack-poll', 0x30], ['null', 0x40],
    ['cf-ack', 0x50], ['cf-poll', 0x60], ['cf-ack-poll', 0x70], ['qos-data', 0x80], ['qos-data-cf-ack', 0x90],
    ['qos-data-cf-poll', 0xa0], ['qos-data-cf-ack-poll', 0xb0], ['qos', 0xc0], ['qos-cf-poll', 0xe0],
    ['qos-cf-ack-poll', 0xf0],
  ]],
];

/** Direction names of `dir`. */
export const WLAN_DIRS: ReadonlyMap<string, number> = new Map([['nods', 0], ['tods', 1], ['fromds', 2], ['dstods', 3]]);

/** Case-insensitive lookup in a name table (libpcap's str2tok); -1 when absent. */
export function str2tok(name: string, table: readonly (readonly [string, number])[]): number {
  const lower = name.toLowerCase();
  for (const [n, v] of table) if (n === lower) return v;
  return -1;
}
