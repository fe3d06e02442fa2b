/** The packet record every reader yields and every writer takes. */

/**
 * One captured packet. `data` holds the captured bytes (its length is the caplen);
 * `origLen` is the length on the wire. The timestamp is split into whole seconds and
 * nanoseconds so that both microsecond and nanosecond files round-trip exactly.
 */
export interface Packet {
  data: Uint8Array;
  origLen: number;
  tsSec: number;
  tsNsec: number;
  /** The DLT_/LINKTYPE_ value this packet's link header follows. */
  linkType: number;
  /** pcapng interface id (0 for pcap files). */
  interfaceId: number;
}
