/**
 * BPF_MAP_TYPE_LPM_TRIE: longest-prefix match over keys `{ u32 prefixlen (host order); u8 data[] }`,
 * with the kernel's node layout (intermediate nodes, in-place replace) so that `nextKey` walks in the
 * kernel's post-order: more specific prefixes before the prefixes that contain them.
 */

import { BPF_EXIST, BPF_NOEXIST, type MapSpec } from '../spec.js';
import { MapError, negErrno } from './errno.js';
import { BPF_F_ACCESS_MASK, KMALLOC_MAX_SIZE, MapFlags, VmMapBase, accessOk, createError, type ResolvedOptions } from './common.js';

const LPM_DATA_SIZE_MAX = 256;
const LPM_CREATE_FLAG_MASK = MapFlags.BPF_F_NO_PREALLOC | MapFlags.BPF_F_NUMA_NODE | BPF_F_ACCESS_MASK;
/** sizeof(struct lpm_trie_node) on x86_64. */
const NODE_SIZE = 32;

interface TrieNode {
  prefixlen: number;
  data: Uint8Array;
  /** Undefined for an intermediate node (one the trie added, not a user's key). */
  value: Uint8Array | undefined;
  child: [TrieNode | undefined, TrieNode | undefined];
}

/** `trie_alloc`'s checks. */
export function checkLpmSpec(spec: MapSpec): void {
  const flags = spec.flags ?? 0;
  if (spec.maxEntries === 0) throw createError('EINVAL', spec, 'max_entries must not be 0');
  if (!(flags & MapFlags.BPF_F_NO_PREALLOC)) throw createError('EINVAL', spec, 'an lpm trie needs BPF_F_NO_PREALLOC');
  if (flags & ~LPM_CREATE_FLAG_MASK || !accessOk(flags)) throw createError('EINVAL', spec, 'flags not valid for an lpm trie');
  if (spec.keySize < 4 + 1 || spec.keySize > 4 + LPM_DATA_SIZE_MAX) throw createError('EINVAL', spec, 'an lpm trie key is a u32 prefix length and 1 to 256 data bytes');
  if (spec.valueSize < 1 || spec.valueSize > KMALLOC_MAX_SIZE - LPM_DATA_SIZE_MAX - NODE_SIZE) throw createError('EINVAL', spec, 'value_size out of range');
}

function extractBit(data: Uint8Array, index: number): number {
  return (data[index >> 3] >> (7 - (index & 7))) & 1;
}

/** An LPM trie key for `data` (network order bytes) and a prefix length. */
export function lpmKey(prefixlen: number, data: ArrayLike<number>): Uint8Array {
  const k = new Uint8Array(4 + data.length);
  new DataView(k.buffer).setUint32(0, prefixlen, true);
  k.set(data, 4);
  return k;
}

/** A longest-prefix-match trie, as lpm_trie.c builds it. */
export class LpmTrieMap extends VmMapBase {
  private readonly dataSize: number;
  private readonly maxPrefixlen: number;
  private root: TrieNode | undefined;
  private entries_ = 0;

  constructor(spec: MapSpec, opts: ResolvedOptions) {
    checkLpmSpec(spec);
    super(spec, opts);
    this.dataSize = spec.keySize - 4;
    this.maxPrefixlen = this.dataSize * 8;
  }

  /** Elements in the map now (intermediate nodes not counted). */
  get size(): number {
    return this.entries_;
  }

  private static prefixlenOf(key: Uint8Array): number {
    return new DataView(key.buffer, key.byteOffset, 4).getUint32(0, true);
  }

  /** `__longest_prefix_match`: leading bits that agree, up to the shorter prefix. */
  private match(node: TrieNode, prefixlen: number, data: Uint8Array): number {
    const limit = Math.min(node.prefixlen, prefixlen);
    let n = 0;
    for (let i = 0; i < this.dataSize && n < limit; i++) {
      const diff = node.data[i] ^ data[i];
      if (diff === 0) {
        n += 8;
        continue;
      }
      n += Math.clz32(diff) - 24;
      break;
    }
    return Math.min(n, limit);
  }

  /** `trie_lookup_elem`: the value of the longest stored prefix that contains the key. */
  private lookup(key: Uint8Array): TrieNode | undefined {
    const prefixlen = LpmTrieMap.prefixlenOf(key);
    // A key longer than the trie's prefixes matches nothing (the kernel checks this since 6.13).
    if (prefixlen > this.maxPrefixlen) return undefined;
    const data = key.subarray(4);
    let found: TrieNode | undefined;
    for (let node = this.root; node;) {
      const matchlen = this.match(node, prefixlen, data);
      if (matchlen === this.maxPrefixlen) {
        found = node;
        break;
      }
      if (matchlen < node.prefixlen) break;
      if (node.value) found = node;
      node = node.child[extractBit(data, node.prefixlen)];
    }
    return found;
  }

  private addCheck(flags: number): number {
    if (flags === BPF_EXIST) return negErrno('ENOENT');
    if (this.entries_ === this.spec.maxEntries) return negErrno('ENOSPC');
    this.entries_++;
    return 0;
  }

  /** `trie_update_elem`. */
  private update(key: Uint8Array, value: Uint8Array, flags: number): number {
    if (flags > BPF_EXIST) return negErrno('EINVAL');
    const prefixlen = LpmTrieMap.prefixlenOf(key);
    if (prefixlen > this.maxPrefixlen) return negErrno('EINVAL');
    const data = key.slice(4);
    const fresh: TrieNode = { prefixlen, data, value: value.slice(0, this.spec.valueSize), child: [undefined, undefined] };
    // `slot` is where the new node goes: the root or a child pointer of `parent`.
    let parent: TrieNode | undefined;
    let bit = 0;
    let node = this.root;
    let matchlen = 0;
    while (node) {
      matchlen = this.match(node, prefixlen, data);
      if (node.prefixlen !== matchlen || node.prefixlen === prefixlen) break;
      parent = node;
      bit = extractBit(data, node.prefixlen);
      node = node.child[bit];
    }
    const put = (n: TrieNode): void => {
      if (parent) parent.child[bit] = n;
      else this.root = n;
    };
    if (!node) {
      const ret = this.addCheck(flags);
      if (!ret) put(fresh);
      return ret;
    }
    if (node.prefixlen === matchlen) {
      if (node.value) {
        if (flags === BPF_NOEXIST) return negErrno('EEXIST');
      } else {
        const ret = this.addCheck(flags);
        if (ret) return ret;
      }
      fresh.child = [node.child[0], node.child[1]];
      put(fresh);
      return 0;
    }
    const ret = this.addCheck(flags);
    if (ret) return ret;
    if (matchlen === prefixlen) {
      fresh.child[extractBit(node.data, matchlen)] = node;
      put(fresh);
      return 0;
    }
    const im: TrieNode = { prefixlen: matchlen, data: node.data.slice(), value: undefined, child: [undefined, undefined] };
    if (extractBit(data, matchlen)) im.child = [node, fresh];
    else im.child = [fresh, node];
    put(im);
    return 0;
  }

  /** `trie_delete_elem`. */
  private remove(key: Uint8Array): number {
    const prefixlen = LpmTrieMap.prefixlenOf(key);
    if (prefixlen > this.maxPrefixlen) return negErrno('EINVAL');
    const data = key.subarray(4);
    // trim = (owner, bit) of the slot holding node; trim2 = the slot holding parent.
    let trim: [TrieNode | undefined, number] = [undefined, 0];
    let trim2: [TrieNode | undefined, number] = trim;
    let parent: TrieNode | undefined;
    let node = this.root;
    let matchlen = 0;
    while (node) {
      matchlen = this.match(node, prefixlen, data);
      if (node.prefixlen !== matchlen || node.prefixlen === prefixlen) break;
      parent = node;
      trim2 = trim;
      const bit = extractBit(data, node.prefixlen);
      trim = [node, bit];
      node = node.child[bit];
    }
    if (!node || node.prefixlen !== prefixlen || node.prefixlen !== matchlen || !node.value) return negErrno('ENOENT');
    this.entries_--;
    const assign = ([owner, bit]: [TrieNode | undefined, number], n: TrieNode | undefined): void => {
      if (owner) owner.child[bit] = n;
      else this.root = n;
    };
    if (node.child[0] && node.child[1]) {
      node.value = undefined;
      return 0;
    }
    if (parent && !parent.value && !node.child[0] && !node.child[1]) {
      assign(trim2, node === parent.child[0] ? parent.child[1] : parent.child[0]);
      return 0;
    }
    assign(trim, node.child[0] ?? node.child[1]);
    return 0;
  }

  private static keyOf(n: TrieNode): Uint8Array {
    return lpmKey(n.prefixlen, n.data);
  }

  /** `trie_get_next_key`: post-order; a missing or invalid key starts from the leftmost node. */
  nextKey(key?: Uint8Array): Uint8Array | undefined {
    this.checkKey(key, 'get next key');
    let searchRoot = this.root;
    if (!searchRoot) return undefined;
    const leftmost = (from: TrieNode): Uint8Array => {
      let next: TrieNode | undefined;
      for (let node: TrieNode | undefined = from; node;) {
        if (!node.value) {
          node = node.child[0];
        } else {
          next = node;
          node = node.child[0] ?? node.child[1];
        }
      }
      return LpmTrieMap.keyOf(next as TrieNode);
    };
    if (key === undefined || LpmTrieMap.prefixlenOf(key) > this.maxPrefixlen) return leftmost(searchRoot);
    const prefixlen = LpmTrieMap.prefixlenOf(key);
    const data = key.subarray(4);
    const stack: TrieNode[] = [];
    let node: TrieNode | undefined = searchRoot;
    let matchlen = 0;
    while (node) {
      stack.push(node);
      matchlen = this.match(node, prefixlen, data);
      if (node.prefixlen !== matchlen || node.prefixlen === prefixlen) break;
      node = node.child[extractBit(data, node.prefixlen)];
    }
    if (!node || node.prefixlen !== matchlen || !node.value) return leftmost(searchRoot);
    node = stack[stack.length - 1];
    for (let sp = stack.length - 1; sp > 0; sp--) {
      const p = stack[sp - 1];
      if (p.child[0] === node) {
        searchRoot = p.child[1];
        if (searchRoot) return leftmost(searchRoot);
      }
      if (p.value) return LpmTrieMap.keyOf(p);
      node = p;
    }
    return undefined;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key, 'lookup');
    return this.lookup(key)?.value?.slice();
  }

  set(key: Uint8Array, value: Uint8Array, flags = 0): void {
    this.checkUpdate(key, value, flags);
    this.fail(this.update(key, value, flags), 'update');
  }

  delete(key: Uint8Array): void {
    this.checkKey(key, 'delete');
    this.fail(this.remove(key), 'delete');
  }

  override lookupAndDelete(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key, 'lookup and delete');
    throw new MapError('ENOTSUPP', this.opName('lookup and delete'));
  }

  override lookupElem(key: Uint8Array): Uint8Array | undefined {
    return this.lookup(key)?.value;
  }

  override updateElem(key: Uint8Array, value: Uint8Array, flags: number): number {
    return this.update(key, value, flags);
  }

  override deleteElem(key: Uint8Array): number {
    return this.remove(key);
  }
}
