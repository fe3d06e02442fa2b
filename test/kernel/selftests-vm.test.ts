// The kernel's own BPF selftest programs (socket filter, tc, XDP; from Debian's linux-source) through loadCollection in the kernel and both VM engines: the VM gives the kernel's BPF_PROG_TEST_RUN results.
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { MapType, vmBackend } from '../../src/ebpf/index.js';
import { BtfKind, loadCollectionSpec, objectNameOf, type CollectionSpec } from '../../src/elf/index.js';
import { Kernel, vmlinuxBtfBytes } from '../../src/kernel/index.js';
import { expectFloor, skipReason } from '../helpers/reference.js';
import { kernelSkip } from './helpers/kernel.js';
import {
  PACKET_TYPES, buildSelftests, oneLine, runProgram, selftestInputs, selftestsTarball,
  type ProgramRun, type SelftestBuild, type SelftestOutcome,
} from './helpers/selftests.js';

const LABEL = 'kernel selftests in the VM';
const why = (await kernelSkip(LABEL)) ?? skipReason(LABEL, {
  commands: ['clang-19', 'bpftool'], files: ['/sys/kernel/btf/vmlinux'], corpus: 'pcaps/tcpdump-tests',
  missing: selftestsTarball() ? undefined : 'no linux-source tarball in /usr/src (apt-get install linux-source-6.12)',
});

/** The bar of issue 12: the VM gives the kernel's results on at least this share of runs. */
const AGREEMENT_BAR = 0.98;
/**
 * What the VM reaches today less a small margin (98.3-98.4% measured, runs vary by a few between kernel loads;
 * see the report for what is left), so that losing ground fails.
 */
const AGREEMENT_FLOOR = 0.981;
const ENGINES = ['interp', 'jit'] as const;
/** Stands for any retval of a `__retval(POINTER_VALUE)` program (test_loader's POINTER_VALUE). */
const POINTER = 0xcafe4a11;

interface Disagreement { object: string; program: string; input: string; kernel: SelftestOutcome; vm: Partial<Record<(typeof ENGINES)[number], SelftestOutcome>> }

const same = (a: SelftestOutcome, b: SelftestOutcome | undefined): boolean =>
  b !== undefined && a.retval === b.retval && a.errno === b.errno && a.dataOut === b.dataOut && a.error === b.error;

/** A kernel refusal without the program's name, the verifier log cut to its gist, so refusals group by cause. */
const reasonOf = (msg: string): string => msg.replace(/^load collection: /, '').replace(/^load program "[^"]*": /, '').replace(/ \(at .*$/, '').slice(0, 120);

/**
 * Programs the selftests mark `__retval(POINTER_VALUE)`: they return a pointer, whose value differs by
 * nature between the kernel and the VM; test_loader does not compare their retval, and neither do we.
 */
function pointerRetvals(spec: CollectionSpec): Set<string> {
  const out = new Set<string>();
  const btf = spec.btf;
  for (const t of btf?.types ?? []) {
    if (t.kind !== BtfKind.DECL_TAG || t.name !== 'comment:test_retval=POINTER_VALUE' || t.componentIdx !== -1) continue;
    const fn = btf!.types[t.type!];
    if (fn?.kind === BtfKind.FUNC) out.add(fn.name);
  }
  return out;
}

/** The programs a prog array of the object names (loaded beside the one run, so its tail calls land). */
function tailTargets(spec: CollectionSpec, program: string): string[] {
  const out = new Set<string>();
  for (const m of spec.maps.values()) {
    if (m.type !== MapType.BPF_MAP_TYPE_PROG_ARRAY) continue;
    for (const r of m.initialRefs ?? []) if (r.ref !== program && spec.programs.has(r.ref)) out.add(r.ref);
  }
  return [...out];
}

describe.skipIf(why !== undefined)('kernel BPF selftests (socket filter, tc, XDP): the VM gives the kernel\'s test-run results', () => {
  let build: SelftestBuild;
  let kernel: Kernel;

  beforeAll(async () => {
    build = buildSelftests();
    kernel = await Kernel.open();
  }, 1_800_000);

  it('the selftest sources with packet programs compile with clang-19', () => {
    for (const f of build.failed) console.log(`[selftests] not compiled: ${f.name}: ${f.error}`);
    console.log(`[selftests] ${build.objects.length} objects compiled, ${build.failed.length} sources failed (${build.dir})`);
    // 211 of 211 compile against linux-source-6.12 and this kernel's vmlinux.h.
    expectFloor('selftest objects compiled', build.objects.length, 200);
  });

  it(`the VM (interpreter and JIT) gives the kernel's retval and data out (floor ${AGREEMENT_FLOOR * 100}%, bar ${AGREEMENT_BAR * 100}%)`, async () => {
    const vmlinux = vmlinuxBtfBytes();
    const excluded: { object: string; program: string; reason: string }[] = [];
    const verifierRejects: { object: string; program: string; reason: string }[] = [];
    const unopened: { object: string; reason: string }[] = [];
    const disagreements: Disagreement[] = [];
    let runs = 0, agree = 0, retvalAgree = 0, programs = 0, packetPrograms = 0;
    const objectsRun = new Set<string>();
    const pointerPrograms: string[] = [];
    const undetermined = new Set<string>();
    let undeterminedRuns = 0;

    for (const file of build.objects) {
      const object = path.basename(file, '.o');
      const bytes = new Uint8Array(readFileSync(file));
      let spec: CollectionSpec;
      try {
        spec = loadCollectionSpec(bytes);
      } catch (e) {
        unopened.push({ object, reason: oneLine(e) });
        continue;
      }
      const name = objectNameOf(file);
      const pointers = pointerRetvals(spec);
      for (const ps of spec.programs.values()) {
        if (!PACKET_TYPES.has(ps.type)) continue;
        packetPrograms++;
        const inputs = selftestInputs(ps.type);
        let progs = [ps.name, ...tailTargets(spec, ps.name)];
        let k: ProgramRun = await runProgram(bytes, name, progs, inputs, kernel);
        if (k.loadError && progs.length > 1) {
          progs = [ps.name];
          k = await runProgram(bytes, name, progs, inputs, kernel);
        }
        if (k.loadError) {
          excluded.push({ object, program: ps.name, reason: reasonOf(k.loadError) });
          continue;
        }
        // A second kernel load with the same runs: where the kernel disagrees with itself (bpf_get_prandom_u32,
        // clocks), the input does not decide the result and the run is counted apart.
        const k2 = await runProgram(bytes, name, progs, inputs, kernel);
        programs++;
        objectsRun.add(object);
        const vm: Partial<Record<(typeof ENGINES)[number], ProgramRun>> = {};
        for (const engine of ENGINES) {
          let v = await runProgram(bytes, name, progs, inputs, vmBackend({ engine, coreTarget: vmlinux }));
          if (v.verifierRejected) {
            // The kernel accepted it: the VM's verifier is wrong here. Counted apart, and the runs compared without it.
            if (engine === 'interp') verifierRejects.push({ object, program: ps.name, reason: reasonOf(v.loadError!) });
            v = await runProgram(bytes, name, progs, inputs, vmBackend({ engine, coreTarget: vmlinux, verify: false }));
          }
          vm[engine] = v;
        }
        if (pointers.has(ps.name)) pointerPrograms.push(`${object}/${ps.name}`);
        inputs.forEach((inp, i) => {
          if (!same(k.outcomes[i], k2.outcomes[i])) {
            undetermined.add(`${object}/${ps.name}`);
            undeterminedRuns++;
            return;
          }
          runs++;
          const ko = pointers.has(ps.name) && k.outcomes[i].retval !== undefined ? { ...k.outcomes[i], retval: POINTER } : k.outcomes[i];
          const vo = Object.fromEntries(ENGINES.map((e): [string, SelftestOutcome] => {
            const o = vm[e]!.loadError ? { error: `load: ${vm[e]!.loadError}` } : vm[e]!.outcomes[i];
            return [e, pointers.has(ps.name) && o.retval !== undefined ? { ...o, retval: POINTER } : o];
          }));
          if (ENGINES.every((e) => vo[e]?.retval === ko.retval && vo[e]?.errno === ko.errno && vo[e]?.error === ko.error)) retvalAgree++;
          if (ENGINES.every((e) => same(ko, vo[e]))) agree++;
          else disagreements.push({ object, program: ps.name, input: inp.label, kernel: ko, vm: vo });
        });
      }
    }

    const byReason = new Map<string, number>();
    for (const x of excluded) byReason.set(x.reason, (byReason.get(x.reason) ?? 0) + 1);
    const report = { runs, agree, retvalAgree, programs, pointerPrograms, undetermined: [...undetermined], undeterminedRuns, packetPrograms, objects: objectsRun.size, excluded, verifierRejects, unopened, disagreements };
    const out = path.join(build.dir, 'report.json');
    writeFileSync(`${out}.tmp`, `${JSON.stringify(report, null, 1)}\n`);
    renameSync(`${out}.tmp`, out);

    console.log(`[selftests] excluded (the kernel refuses to load them): ${excluded.length} programs`);
    for (const [r, n] of [...byReason].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${n} × ${r}`);
    console.log(`[selftests] bpfkit cannot open ${unopened.length} objects (their programs are not in the figures):`);
    for (const u of unopened) console.log(`  ${u.object}: ${u.reason}`);
    console.log(`[selftests] VM verifier rejects ${verifierRejects.length} programs the kernel accepts (run with verify: false):`);
    for (const r of verifierRejects) console.log(`  ${r.object}/${r.program}: ${r.reason}`);
    console.log(`[selftests] ${undeterminedRuns} runs of ${undetermined.size} programs left out: two kernel loads gave different results (${[...undetermined].join(', ')})`);
    console.log(`[selftests] retval not compared (\`__retval(POINTER_VALUE)\`, as test_loader): ${pointerPrograms.join(', ')}`);
    for (const d of disagreements.slice(0, 40)) console.log(`[selftests] differs: ${d.object}/${d.program} on ${d.input}: kernel ${JSON.stringify(d.kernel).slice(0, 200)} vm ${JSON.stringify(d.vm).slice(0, 300)}`);
    console.log(`[selftests] ${runs} runs of ${programs} programs in ${objectsRun.size} objects (of ${packetPrograms} packet programs in ${build.objects.length} objects): `
      + `${agree} agree in retval and data out (${((100 * agree) / runs).toFixed(2)}%), ${retvalAgree} in retval (${((100 * retvalAgree) / runs).toFixed(2)}%); report in ${out}`);

    const ratio = agree / runs;
    console.log(`[selftests] issue 12's bar (≥ ${AGREEMENT_BAR * 100}% of runs): ${ratio >= AGREEMENT_BAR ? 'met' : 'NOT met'}`);
    // Objects bpfkit's ELF loader cannot open yet (kfunc and ksym externs): counted, and their programs are not in the ratio.
    expectFloor('selftest objects bpfkit opens', build.objects.length - unopened.length, 150);
    expectFloor('selftest programs run on the kernel and the VM', programs, 650);
    expectFloor('selftest runs where the VM gives the kernel\'s retval and data out (ratio)', ratio, AGREEMENT_FLOOR);
  }, 3_600_000);
});
