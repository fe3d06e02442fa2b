/**
 * The kernel's LRU node allocator (kernel/bpf/bpf_lru_list.c) modelled list for list, so an LRU
 * hash evicts what the kernel's evicts: active/inactive lists with reference bits, per-CPU local
 * free and pending lists that take `target_free` nodes at a time, batch shrinking, stealing.
 *
 * What it leaves out: real concurrency (the VM runs one thing at a time, so no lock-contention
 * paths), and which CPU user space runs on — the syscall side uses `HashMap.syscallCpu` (0 unless
 * set), so it matches a kernel process pinned to that CPU. A map filled from one CPU evicts
 * exactly as Linux 6.18 does (checked with `taskset -c 0 bpftool batch`); mixes of CPUs follow
 * the same rules but the kernel's interleaving is not reproducible anyway.
 */

/** List a node is on, with the kernel's numbering. */
const ACTIVE = 0, INACTIVE = 1, FREE = 2, LOCAL_FREE = 3, LOCAL_PENDING = 4;

/** `LOCAL_FREE_TARGET` / `LOCAL_NR_SCANS` (common LRU) and `PERCPU_FREE_TARGET` / `PERCPU_NR_SCANS`. */
const LOCAL_FREE_TARGET = 128;
const PERCPU_FREE_TARGET = 4;

/** One preallocated element slot; `owner` is whatever the hash table stores in it. */
export class LruNode<T> {
  prev: LruNode<T> = this;
  next: LruNode<T> = this;
  type = FREE;
  ref = false;
  cpu = 0;
  owner: T | undefined;
}

/** A circular list head, as `struct list_head`. */
function head<T>(): LruNode<T> {
  return new LruNode<T>();
}
function del<T>(n: LruNode<T>): void {
  n.prev.next = n.next;
  n.next.prev = n.prev;
  n.prev = n.next = n;
}
/** `list_move`: to the head (newest end) of `h`. */
function move<T>(n: LruNode<T>, h: LruNode<T>): void {
  del(n);
  n.next = h.next;
  n.prev = h;
  h.next.prev = n;
  h.next = n;
}
function empty<T>(h: LruNode<T>): boolean {
  return h.next === h;
}

class LruList<T> {
  /** ACTIVE, INACTIVE, FREE. */
  readonly lists = [head<T>(), head<T>(), head<T>()];
  readonly counts = [0, 0];
  nextInactiveRotation: LruNode<T> = this.lists[INACTIVE];
}

class LocalList<T> {
  readonly free = head<T>();
  readonly pending = head<T>();
  nextSteal: number;
  constructor(cpu: number) {
    this.nextSteal = cpu;
  }
}

/**
 * The node allocator of one LRU map. `delFromHtab(node)` removes the node's element from the
 * hash table (true when it was there), as `htab_lru_map_delete_node` does.
 */
export class Lru<T> {
  private readonly percpu: boolean;
  private readonly cpus: number;
  private readonly nrScans: number;
  private readonly targetFree: number;
  private readonly common = new LruList<T>();
  private readonly percpuLists: LruList<T>[] = [];
  private readonly locals: LocalList<T>[] = [];
  private readonly delFromHtab: (node: LruNode<T>) => boolean;

  constructor(percpu: boolean, cpus: number, nrElems: number, delFromHtab: (node: LruNode<T>) => boolean) {
    this.percpu = percpu;
    this.cpus = cpus;
    this.delFromHtab = delFromHtab;
    this.nrScans = percpu ? PERCPU_FREE_TARGET : LOCAL_FREE_TARGET;
    // Since Linux 6.16 the batch adapts to small maps: clamp(nr_elems / cpus / 2, 1, LOCAL_FREE_TARGET).
    this.targetFree = Math.min(Math.max(Math.floor(nrElems / cpus / 2), 1), LOCAL_FREE_TARGET);
    if (percpu) {
      const each = Math.floor(nrElems / cpus);
      for (let cpu = 0; cpu < cpus; cpu++) {
        const l = new LruList<T>();
        this.percpuLists.push(l);
        for (let i = 0; i < each; i++) {
          const n = new LruNode<T>();
          n.cpu = cpu;
          move(n, l.lists[FREE]);
        }
      }
    } else {
      for (let cpu = 0; cpu < cpus; cpu++) this.locals.push(new LocalList<T>(cpu));
      for (let i = 0; i < nrElems; i++) move(new LruNode<T>(), this.common.lists[FREE]);
    }
  }

  /** `bpf_lru_node_set_ref`: a program looked the element up or replaced it. */
  setRef(n: LruNode<T>): void {
    n.ref = true;
  }

  /** `bpf_lru_pop_free`: a node for a new element, evicting old ones when none is free. */
  pop(cpu: number): LruNode<T> | undefined {
    return this.percpu ? this.percpuPop(cpu) : this.commonPop(cpu);
  }

  /** `bpf_lru_push_free`: an element was deleted or replaced. */
  push(n: LruNode<T>): void {
    n.owner = undefined;
    if (this.percpu) {
      this.moveTo(this.percpuLists[n.cpu], n, FREE);
      return;
    }
    if (n.type === LOCAL_PENDING) {
      n.type = LOCAL_FREE;
      n.ref = false;
      move(n, this.locals[n.cpu].free);
      return;
    }
    this.moveTo(this.common, n, FREE);
  }

  private moveIn(l: LruList<T>, n: LruNode<T>, type: number): void {
    l.counts[type]++;
    n.type = type;
    n.ref = false;
    move(n, l.lists[type]);
  }

  /** `__bpf_lru_node_move`. */
  private moveTo(l: LruList<T>, n: LruNode<T>, type: number): void {
    if (n.type !== type) {
      if (n.type === ACTIVE || n.type === INACTIVE) l.counts[n.type]--;
      if (type === ACTIVE || type === INACTIVE) l.counts[type]++;
      n.type = type;
    }
    n.ref = false;
    if (n === l.nextInactiveRotation) l.nextInactiveRotation = l.nextInactiveRotation.prev;
    move(n, l.lists[type]);
  }

  /** `__bpf_lru_node_move_to_free`. */
  private moveToFree(l: LruList<T>, n: LruNode<T>, freeList: LruNode<T>, type: number): void {
    if (n.type === ACTIVE || n.type === INACTIVE) l.counts[n.type]--;
    if (n === l.nextInactiveRotation) l.nextInactiveRotation = l.nextInactiveRotation.prev;
    n.type = type;
    n.ref = false;
    move(n, freeList);
  }

  private rotate(l: LruList<T>): void {
    if (l.counts[INACTIVE] < l.counts[ACTIVE]) this.rotateActive(l);
    this.rotateInactive(l);
  }

  private rotateActive(l: LruList<T>): void {
    const active = l.lists[ACTIVE];
    const first = active.next;
    let i = 0;
    for (let n = active.prev; n !== active;) {
      const prev = n.prev;
      this.moveTo(l, n, n.ref ? ACTIVE : INACTIVE);
      if (++i === this.nrScans || n === first) break;
      n = prev;
    }
  }

  private rotateInactive(l: LruList<T>): void {
    const inactive = l.lists[INACTIVE];
    if (empty(inactive)) return;
    let last = l.nextInactiveRotation.next;
    if (last === inactive) last = last.next;
    let cur = l.nextInactiveRotation;
    let next: LruNode<T> = inactive;
    let i = 0;
    while (i < this.nrScans) {
      if (cur === inactive) {
        cur = cur.prev;
        continue;
      }
      next = cur.prev;
      if (cur.ref) this.moveTo(l, cur, ACTIVE);
      if (cur === last) break;
      cur = next;
      i++;
    }
    l.nextInactiveRotation = next;
  }

  private shrinkInactive(l: LruList<T>, target: number, freeList: LruNode<T>, freeType: number): number {
    const inactive = l.lists[INACTIVE];
    let shrunk = 0;
    let i = 0;
    for (let n = inactive.prev; n !== inactive;) {
      const prev = n.prev;
      if (n.ref) {
        this.moveTo(l, n, ACTIVE);
      } else if (this.delFromHtab(n)) {
        this.moveToFree(l, n, freeList, freeType);
        if (++shrunk === target) break;
      }
      if (++i === this.nrScans) break;
      n = prev;
    }
    return shrunk;
  }

  private shrink(l: LruList<T>, target: number, freeList: LruNode<T>, freeType: number): number {
    const shrunk = this.shrinkInactive(l, target, freeList, freeType);
    if (shrunk) return shrunk;
    // Every inactive node was referenced: evict the oldest one regardless.
    const force = empty(l.lists[INACTIVE]) ? l.lists[ACTIVE] : l.lists[INACTIVE];
    for (let n = force.prev; n !== force; n = n.prev) {
      if (this.delFromHtab(n)) {
        this.moveToFree(l, n, freeList, freeType);
        return 1;
      }
    }
    return 0;
  }

  private percpuPop(cpu: number): LruNode<T> | undefined {
    const l = this.percpuLists[cpu];
    this.rotate(l);
    const free = l.lists[FREE];
    if (empty(free)) this.shrink(l, PERCPU_FREE_TARGET, free, FREE);
    if (empty(free)) return undefined;
    const n = free.next;
    n.ref = false;
    this.moveTo(l, n, INACTIVE);
    return n;
  }

  private commonPop(cpu: number): LruNode<T> | undefined {
    const loc = this.locals[cpu];
    let n = this.localPopFree(loc);
    if (!n) {
      this.popFreeToLocal(loc);
      n = this.localPopFree(loc);
    }
    if (n) {
      this.addPending(loc, cpu, n);
      return n;
    }
    // Nothing free here or globally: steal from the CPUs' local lists, round robin.
    const first = loc.nextSteal;
    let steal = first;
    do {
      const other = this.locals[steal];
      n = this.localPopFree(other) ?? this.localPopPending(other);
      steal = (steal + 1) % this.cpus;
    } while (!n && steal !== first);
    loc.nextSteal = steal;
    if (n) this.addPending(loc, cpu, n);
    return n;
  }

  private localPopFree(loc: LocalList<T>): LruNode<T> | undefined {
    if (empty(loc.free)) return undefined;
    const n = loc.free.next;
    del(n);
    return n;
  }

  private localPopPending(loc: LocalList<T>): LruNode<T> | undefined {
    for (const force of [false, true]) {
      for (let n = loc.pending.prev; n !== loc.pending; n = n.prev) {
        if ((!n.ref || force) && this.delFromHtab(n)) {
          del(n);
          return n;
        }
      }
    }
    return undefined;
  }

  private addPending(loc: LocalList<T>, cpu: number, n: LruNode<T>): void {
    n.cpu = cpu;
    n.type = LOCAL_PENDING;
    n.ref = false;
    move(n, loc.pending);
  }

  private popFreeToLocal(loc: LocalList<T>): void {
    const l = this.common;
    // __local_list_flush: pending nodes join the global lists, oldest first.
    for (let n = loc.pending.prev; n !== loc.pending;) {
      const prev = n.prev;
      this.moveIn(l, n, n.ref ? ACTIVE : INACTIVE);
      n = prev;
    }
    this.rotate(l);
    let nfree = 0;
    const free = l.lists[FREE];
    while (!empty(free) && nfree < this.targetFree) {
      this.moveToFree(l, free.next, loc.free, LOCAL_FREE);
      nfree++;
    }
    if (nfree < this.targetFree) this.shrink(l, this.targetFree - nfree, loc.free, LOCAL_FREE);
  }
}
