// Ring buffers: reserve/submit/discard/output/query, the record header layout, wrap-around, and the consumer.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP, BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, MapError, MapType,
  RingbufMap, RingbufQuery, createMap,
} from '../../src/ebpf/index.js';

const spec = { name: 'rb', type: MapType.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 };
const rb = (): RingbufMap => createMap(spec) as RingbufMap;

describe('ring buffer producer', () => {
  it('lays records out as the kernel does: 8-byte header, busy bit until commit, 8-byte alignment', () => {
    const r = rb();
    const a = r.reserve(5)!;
    expect(a.length).toBe(5);
    const raw = new DataView(r.rawData().buffer, r.rawData().byteOffset);
    expect(raw.getUint32(0, true)).toBe((5 | BPF_RINGBUF_BUSY_BIT) >>> 0);
    expect(raw.getUint32(4, true)).toBe(3);
    a.set([1, 2, 3, 4, 5]);
    const b = r.reserve(1)!;
    expect(b.byteOffset - a.byteOffset).toBe(16);
    r.submit(a);
    expect(raw.getUint32(0, true)).toBe(5);
    r.discard(b);
    expect(raw.getUint32(16, true)).toBe((1 | BPF_RINGBUF_DISCARD_BIT) >>> 0);
    expect(r.query(RingbufQuery.BPF_RB_PROD_POS)).toBe(32n);
    expect(r.query(RingbufQuery.BPF_RB_AVAIL_DATA)).toBe(32n);
    expect(r.query(RingbufQuery.BPF_RB_RING_SIZE)).toBe(4096n);
    expect(r.query(99)).toBe(0n);
    const recs = r.read();
    expect(recs.map((x) => [...x.data])).toEqual([[1, 2, 3, 4, 5]]);
    expect(r.query(RingbufQuery.BPF_RB_CONS_POS)).toBe(32n);
  });

  it('refuses what does not fit: NULL from reserve, -EAGAIN from output, -EINVAL for bad flags', () => {
    const r = rb();
    expect(r.reserve(4096)).toBeUndefined();
    expect(r.reserve(8, 1)).toBeUndefined();
    expect(r.output(new Uint8Array(4000))).toBe(0);
    expect(r.output(new Uint8Array(100))).toBe(-11);
    expect(r.output(new Uint8Array(1), 4)).toBe(-22);
    r.read();
    expect(r.output(new Uint8Array(100))).toBe(0);
  });

  it('a busy record holds back the consumer, even when later ones are done', () => {
    const r = rb();
    const a = r.reserve(8)!;
    expect(r.output(Uint8Array.of(9))).toBe(0);
    expect(r.read()).toEqual([]);
    r.submit(a);
    expect(r.read().map((x) => x.data.length)).toEqual([8, 1]);
    expect(() => r.submit(a)).toThrow(MapError);
    expect(() => r.submit(new Uint8Array(8))).toThrow(MapError);
  });

  it('wraps records around the end as one contiguous view, like the kernel\'s double mapping', () => {
    const r = rb();
    expect(r.output(new Uint8Array(4000 - 8))).toBe(0);
    r.read();
    const s = r.reserve(200)!;
    expect(s.length).toBe(200);
    for (let i = 0; i < 200; i++) s[i] = i;
    r.submit(s);
    const [rec] = r.read();
    expect([...rec.data]).toEqual(Array.from({ length: 200 }, (_, i) => i));
    // The tail of the record went to the start of the ring, where the kernel's data pages hold it.
    // The header sits at 4000, data at 4008..4208: bytes 88..199 land at ring offsets 0..111.
    expect(s.byteOffset - r.rawData().byteOffset).toBe(4008);
    expect([r.rawData()[0], r.rawData()[111]]).toEqual([88, 199]);
  });

  it('wakes the consumer when it has caught up, never with NO_WAKEUP, always with FORCE_WAKEUP', () => {
    const r = rb();
    let wakeups = 0;
    r.onWakeup = () => wakeups++;
    r.output(Uint8Array.of(1));
    expect(wakeups).toBe(1);
    r.output(Uint8Array.of(1));
    expect(wakeups).toBe(1);
    r.output(Uint8Array.of(1), BPF_RB_FORCE_WAKEUP);
    expect(wakeups).toBe(2);
    r.read();
    r.output(Uint8Array.of(1), BPF_RB_NO_WAKEUP);
    expect(wakeups).toBe(2);
  });

  it('says ENOTSUPP to the syscall element operations', () => {
    const r = rb();
    for (const f of [() => r.get(new Uint8Array(0)), () => r.set(new Uint8Array(0), new Uint8Array(0)), () => r.delete(new Uint8Array(0)), () => r.nextKey()]) {
      expect(f).toThrow(expect.objectContaining({ errnoName: 'ENOTSUPP', errno: 524 }) as Error);
    }
  });
});

describe('ring buffer model test', () => {
  it('delivers exactly the submitted records, in order, whatever the interleaving', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('reserve' as const), size: fc.integer({ min: 0, max: 700 }) }),
      fc.record({ kind: fc.constant('commit' as const), which: fc.nat(), discard: fc.boolean() }),
      fc.record({ kind: fc.constant('read' as const) }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
      const r = rb();
      let next = 0;
      const pending: { view: Uint8Array; id: number }[] = [];
      // Records in reservation order: id, and whether (and how) committed.
      const order: { id: number; size: number; state: 'busy' | 'submit' | 'discard' }[] = [];
      const delivered: number[] = [];
      const expectDelivered: number[] = [];
      const drain = (): void => {
        for (const rec of r.read()) delivered.push(new DataView(rec.data.buffer).getUint32(0, true));
        while (order.length && order[0].state !== 'busy') {
          const o = order.shift()!;
          if (o.state === 'submit') expectDelivered.push(o.id);
        }
      };
      for (const o of ops) {
        if (o.kind === 'reserve') {
          const v = r.reserve(o.size + 4);
          const used = Number(r.query(RingbufQuery.BPF_RB_AVAIL_DATA));
          if (!v) {
            expect(used + Math.ceil((o.size + 12) / 8) * 8).toBeGreaterThan(4095);
            continue;
          }
          const id = next++;
          new DataView(v.buffer, v.byteOffset).setUint32(0, id, true);
          v.fill(id & 255, 4);
          pending.push({ view: v, id });
          order.push({ id, size: o.size, state: 'busy' });
        } else if (o.kind === 'commit' && pending.length) {
          const [p] = pending.splice(o.which % pending.length, 1);
          if (o.discard) r.discard(p.view);
          else r.submit(p.view);
          order.find((x) => x.id === p.id)!.state = o.discard ? 'discard' : 'submit';
        } else if (o.kind === 'read') {
          drain();
        }
      }
      drain();
      expect(delivered).toEqual(expectDelivered);
    }), { numRuns: 300 });
  });
});
