/** Fuzzing the protocol decoders: mutated corpus packets never throw, and the work stays linear in the packet size. */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePacket, DecodeState, formatPacket, PrintState } from '../../src/decode/index.js';
import { readCapture, type Packet } from '../../src/pcap/index.js';
import { skipReason } from '../helpers/reference.js';
import { arbMutated, corpusFiles, fuzzParams, readAll } from './fuzz-helpers.js';

const why = skipReason('fuzz decoders', { corpus: 'pcaps/manifest.json' });

/** Bounds checks per captured byte: the measured corpus maximum is 1.0; the slack covers decoders that re-read a header. */
const STEPS_PER_BYTE = 4;
const STEPS_FIXED = 64;

function corpusPackets(): Packet[] {
  const out: Packet[] = [];
  for (const bytes of readAll(corpusFiles('pcaps', /\.(pcap|pcapng|cap)$/))) {
    try {
      out.push(...readCapture(bytes).packets);
    } catch {
      // Captures that do not open are the pcap fuzzers' business.
    }
  }
  return out;
}

describe.skipIf(why !== undefined)('decoders under mutation (seeded from ../shared/corpus/pcaps)', () => {
  const packets = why ? [] : corpusPackets();
  const byLink = new Map<number, Packet[]>();
  for (const p of packets) byLink.set(p.linkType, [...(byLink.get(p.linkType) ?? []), p]);

  it('the corpus gives packets of many link types to start from', () => {
    expect(packets.length).toBeGreaterThan(9000);
    expect(byLink.size).toBeGreaterThan(20);
  });

  it('every corpus packet decodes within the linear work bound, at -v levels 0..3', () => {
    let worst = 0;
    for (const p of packets) {
      for (const verbose of [0, 1, 3]) {
        const d = decodePacket(p.data, p.origLen, p.linkType, { verbose, linkHeader: verbose > 0 });
        worst = Math.max(worst, d.steps / (p.data.length + 1));
        expect(d.steps, `${p.linkType} len ${p.data.length}`).toBeLessThanOrEqual(STEPS_PER_BYTE * p.data.length + STEPS_FIXED);
      }
    }
    console.log(`[fuzz decode] ${packets.length} corpus packets, at most ${worst.toFixed(2)} bounds checks per byte`);
  });

  it('mutated packets never throw and stay within the bound (any link type, wire length and flags)', () => {
    const seeds = packets.map((p) => p.data);
    const links = [...byLink.keys()];
    fc.assert(
      fc.property(arbMutated(seeds, 8), fc.constantFrom(...links), fc.integer({ min: 0, max: 3 }), fc.boolean(), fc.nat({ max: 0x10000 }), (data, linkType, verbose, linkHeader, extra) => {
        const d = decodePacket(data, data.length + extra, linkType, { verbose, linkHeader });
        expect(d.steps).toBeLessThanOrEqual(STEPS_PER_BYTE * data.length + STEPS_FIXED);
        expect(d.text).not.toMatch(/\n\n/);
      }),
      fuzzParams(4),
    );
  });

  it('a stream of mutated packets keeps its state (TCP sequence bases) without throwing in formatPacket', () => {
    const seeds = packets.map((p) => p.data);
    fc.assert(
      fc.property(fc.array(fc.tuple(arbMutated(seeds, 3), fc.constantFrom(...byLink.keys())), { minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 2 }), (list, hex) => {
        const state = new PrintState();
        const decode = new DecodeState();
        for (const [data, linkType] of list) {
          decodePacket(data, data.length, linkType, {}, decode);
          formatPacket({ data, origLen: data.length, tsSec: 1, tsNsec: 0, linkType }, { hex: hex as 0 | 1 | 2 }, state);
        }
      }),
      fuzzParams(0.5),
    );
  });

  it('a DNS message of 64259 questions made of forward pointers decodes with work linear in its size (tcpdump dns_fwdptr)', () => {
    const [cap] = readAll(corpusFiles('pcaps/tcpdump-tests', /^dns_fwdptr\.pcap$/));
    const p = readCapture(cap).packets[0];
    const d = decodePacket(p.data, p.origLen, p.linkType, {});
    expect(d.steps).toBeLessThanOrEqual(STEPS_PER_BYTE * p.data.length);
    // tcpdump -n prints the 10519 questions it can skip, comma-separated, then gives up.
    expect(/ \[64259q\](,*) \[\|domain\]$/.exec(d.text)?.[1].length).toBe(10518);
  });
});
