/** tcpdump's table of TCP conversations (relative sequence numbers), keyed by address and port bytes rather than by strings. */

/** One conversation: the canonical key bytes and the sequence bases of its two directions. */
export interface TcpConversation {
  readonly key: Uint8Array;
  seq: number;
  ack: number;
  /** The next conversation whose key hashes alike. */
  next: TcpConversation | undefined;
}

/**
 * Conversations by their canonical (addresses, ports) bytes: a lookup builds no key string and
 * allocates nothing (tcpdump's tcp_seq_hash likewise hashes the raw addresses and ports).
 */
export class TcpConversations {
  private readonly chains = new Map<number, TcpConversation>();
  /** The key of the lookup in progress: two IPv6 addresses and two ports at most. */
  private readonly scratch = new Uint8Array(36);
  private count = 0;
  /** The hash and length of the last {@link find}'s key, for {@link add}. */
  private hash = 0;
  private keyLength = 0;

  /** Conversations seen. */
  get size(): number {
    return this.count;
  }

  /**
   * The conversation of the addresses of `addrLen` bytes at `srcOff`/`dstOff` of `data` and the
   * ports, in the order given (the caller puts them in canonical order); undefined when new.
   * {@link add} then records it.
   */
  find(data: Uint8Array, srcOff: number, dstOff: number, addrLen: number, sport: number, dport: number): TcpConversation | undefined {
    const k = this.scratch;
    for (let i = 0; i < addrLen; i++) {
      k[i] = data[srcOff + i];
      k[addrLen + i] = data[dstOff + i];
    }
    const n = 2 * addrLen;
    k[n] = sport >> 8;
    k[n + 1] = sport & 0xff;
    k[n + 2] = dport >> 8;
    k[n + 3] = dport & 0xff;
    const len = n + 4;
    let h = 0x811c9dc5;
    for (let i = 0; i < len; i++) h = Math.imul(h ^ k[i], 0x01000193);
    this.hash = h;
    this.keyLength = len;
    for (let c = this.chains.get(h); c !== undefined; c = c.next) {
      if (c.key.length !== len) continue;
      let same = true;
      for (let i = 0; i < len; i++) {
        if (c.key[i] !== k[i]) {
          same = false;
          break;
        }
      }
      if (same) return c;
    }
    return undefined;
  }

  /** Records a conversation for the key of the last {@link find}. */
  add(seq: number, ack: number): TcpConversation {
    const c: TcpConversation = { key: this.scratch.slice(0, this.keyLength), seq, ack, next: this.chains.get(this.hash) };
    this.chains.set(this.hash, c);
    this.count++;
    return c;
  }
}
