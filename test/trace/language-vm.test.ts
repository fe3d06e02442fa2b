/** The trace language compiled by bpfkit and run in bpfkit's VM with synthetic events: output as bpftrace prints it (expectations from the bpftrace runtime corpus). */

import { describe, expect, it } from 'vitest';
import { runTraceInVm } from '../../src/trace/vm-runner.js';
import { histBucketIndex } from '../../src/trace/format/hist.js';
import { CGROUP_FILTER_MAP, compileTrace } from '../../src/trace/compiler.js';
import { MapType } from '../../src/ebpf/index.js';
import { verify } from '../../src/ebpf/verifier/index.js';
import { parseProgram } from '../../src/trace/parser.js';
import { TraceError, renderDiagnostic } from '../../src/trace/errors.js';

const task = { pid: 4242, tgid: 4242, comm: 'bash', uid: 1000, gid: 1000 };

async function out(src: string, options: Parameters<typeof runTraceInVm>[1] = {}): Promise<string> {
  return (await runTraceInVm(src, { host: { task }, ...options })).output;
}

describe('trace language in the VM: printf, maps, aggregations', () => {
  it('printf with ints and strings (call: printf)', async () => {
    expect(await out('begin { printf("%dst: %sa; %dnd: %sb\\n", 1, "a", 2, "ab"); }')).toBe('1st: aa; 2nd: abb\n\n\n');
  });

  it('maps are printed at exit, scalar and keyed (map: map indexed, map scalar)', async () => {
    const o = await out('begin { @a[0] = 0; @a[1] = 1; @b = 5; }');
    expect(o).toContain('@a[0]: 0\n@a[1]: 1\n');
    expect(o).toContain('@b: 5\n');
  });

  it('count/sum/avg/min/max/stats (call: count, sum, avg, min, max, stats)', async () => {
    const o = await out('begin { @c = count(); @c = count(); @s = sum(1); @s = sum(2); @a = avg(1); @a = avg(3); @mn = min(2); @mn = min(1); @mx = max(1); @mx = max(3); @st = stats(1); @st = stats(2); @st = stats(3); }');
    expect(o).toContain('@c: 2\n');
    expect(o).toContain('@s: 3\n');
    expect(o).toContain('@a: 2\n');
    expect(o).toContain('@mn: 1\n');
    expect(o).toContain('@mx: 3\n');
    expect(o).toContain('@st: { .count = 3, .average = 2, .total = 6 }\n');
  });

  it('hist buckets as bpftrace draws them (call: hist)', async () => {
    const o = await out('begin { @=hist(-1); @=hist(2); @=hist(3); @=hist(7); @=hist(20); }');
    expect(o).toContain('(..., 0)               1 |');
    expect(o).toContain('[2, 4)                 2 |');
    expect(o).toContain('[4, 8)                 1 |');
    expect(o).toContain('[16, 32)               1 |');
  });

  it('hist(x, k) splits each power of two in 2^k buckets, in the program as in the format (histogram-finegrain)', async () => {
    // Every value 0..299 once, and some large and negative ones: the drawn counts must equal what bpftrace's
    // numbering (histBucketIndex, which the format side uses to label buckets) gives for each k.
    const values = [...Array.from({ length: 300 }, (_, i) => i), 1000, 4097, 123456789, -5];
    for (const k of [0, 1, 3, 5]) {
      const src = `begin { $i = 0; while ($i < 300) { @ = hist($i, ${k}); $i++; } @ = hist(1000, ${k}); @ = hist(4097, ${k}); @ = hist(123456789, ${k}); @ = hist(-5, ${k}); }`;
      const r = await runTraceInVm(src, { host: { task }, format: 'json' });
      const want = new Map<number, number>();
      for (const v of values) want.set(histBucketIndex(BigInt(v), k), (want.get(histBucketIndex(BigInt(v), k)) ?? 0) + 1);
      const line = r.output.split('\n').find((l) => l.includes('"type": "hist"'));
      expect(line, `k=${k}`).toBeDefined();
      const got = (JSON.parse(line!) as { data: { '@': { min?: number; count: number }[] } }).data['@'];
      const total = got.reduce((n, b) => n + b.count, 0);
      expect(total, `k=${k}`).toBe(values.length);
      const nonEmpty = [...want.values()].filter((c) => c > 0);
      expect(got.filter((b) => b.count > 0).map((b) => b.count), `k=${k}`).toEqual([...want.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c).filter((c) => c > 0));
      expect(nonEmpty.length).toBeGreaterThan(k * 4);
    }
  });

  it('aggregations take bpftrace\'s numbers of arguments', () => {
    expect(() => compileTrace('begin { @ = count(1); }')).toThrow(/^count\(\) requires no arguments \(1 provided\)/);
    expect(() => compileTrace('begin { @ = sum(); }')).toThrow(/^sum\(\) requires one argument \(0 provided\)/);
    expect(() => compileTrace('begin { @ = hist(1, 2, 3); }')).toThrow(/^hist\(\) takes up to 2 arguments \(3 provided\)/);
    expect(() => compileTrace('begin { @ = hist(1, 100); }')).toThrow(/^hist\(\) bits must be between 0 and 5 \(100 given\)/);
    expect(() => compileTrace('begin { @ = lhist(1, 0, 10); }')).toThrow(/^lhist\(\) requires 4 arguments \(3 provided\)/);
  });

  it('lhist (call: lhist)', async () => {
    const o = await out('begin { @=lhist(2,0,10,2); @=lhist(3,0,10,2); @=lhist(7,0,10,2); @=lhist(-1,0,10,2); @=lhist(11,0,10,2); }');
    expect(o).toContain('(..., 0)               1 |');
    expect(o).toContain('[2, 4)                 2 |');
    expect(o).toContain('[10, ...)              1 |');
  });

  it('print(@m, top) keeps its place among other output, and clear() after it does not reach it (call: print_hist_with_top_arg)', async () => {
    const o = await out('begin { print("begin"); @[1] = hist(10); @[2] = hist(20); @[3] = hist(30); print(@, 2); print("end"); clear(@); }');
    expect(o).toMatch(/^begin\n@\[2\]:\n\[16, 32\) +1 \|@+\|\n\n@\[3\]:\n\[16, 32\) +1 \|@+\|\n\nend\n/);
  });

  it('keyed counters with tuple keys and strings', async () => {
    const o = await out('begin { @[1, "x"] = count(); @[1, "x"] = count(); @[2, "yy"] = count(); }');
    expect(o).toContain('@[2, yy]: 1\n');
    expect(o).toContain('@[1, x]: 2\n');
  });
});

describe('trace language in the VM: control flow and variables', () => {
  it('if/else, while, unroll, for over a range', async () => {
    expect(await out('begin { $a = 10; if ($a > 2) { $a = 20 } else { $a = 1 } printf("a=%d\\n", $a); }')).toBe('a=20\n\n\n');
    expect(await out('begin { $i = 0; $s = 0; while ($i < 5) { $s += $i; $i++; } printf("%d\\n", $s); }')).toBe('10\n\n\n');
    expect(await out('begin { $a = 1; unroll (10) { $a = $a + 1; } printf("a=%d\\n", $a); }')).toBe('a=11\n\n\n');
    expect(await out('begin { $sum = 0; for ($i : 1..5) { $sum += $i; } print($sum); }')).toBe('10\n\n\n');
  });

  it('for over a map, with break (for: map one key, map with break)', async () => {
    const o = await out('begin { @map[16] = 32; for ($kv : @map) { printf("key: %d, val: %d\\n", $kv.0, $kv.1); } }');
    expect(o.startsWith('key: 16, val: 32\n')).toBe(true);
  });

  it('string compare, ternary, ?: and tuples', async () => {
    expect(await out('begin { $x = "hello"; if ($x == "hello") { printf("yes\\n"); } }')).toBe('yes\n\n\n');
    expect(await out('begin { $a = 1 ? "yes" : "no"; printf("%s\\n", $a); }')).toBe('yes\n\n\n');
    expect(await out('begin { $x = 1; $a = $x ?: 10; $b = 0 ?: 20; print(($a, $b)); }')).toBe('(1, 20)\n\n\n');
    expect(await out('begin { $t = (1, 2, "string"); print($t); }')).toBe('(1, 2, string)\n\n\n');
  });

  it('exit() stops the probe and skips later events; exit code', async () => {
    const r = await runTraceInVm('begin { printf("a\\n"); exit(3); printf("b\\n"); }', { host: { task } });
    expect(r.output).toBe('a\n\n\n');
    expect(r.exitCode).toBe(3);
  });

  it('divide by zero gives 1 with a warning (regression: zero_divide)', async () => {
    const o = await out('BEGIN { @mod0 = 0; print((uint64)10 / (uint64)@mod0); }');
    expect(o).toContain('WARNING: Divide or modulo by 0 detected');
    expect(o).toContain('\n1\n');
  });

  it('macros and enums (macro, other: symbolize enum)', async () => {
    expect(await out('macro add_one($x) { $x + 1 } begin { $a = 1; print(add_one($a)); }')).toBe('2\n\n\n');
    expect(await out('enum { ONE = 1, TWO = 2 }; begin { @ = (ONE, TWO); }')).toBe('\n\n@: (ONE, TWO)\n');
  });
});

describe('trace language in the VM: builtins and tracepoints', () => {
  it('strerror() in a program gives glibc\'s text for every errno, not only the common ones', async () => {
    expect(await out('begin { print(strerror(95)); print(strerror(125)); print(strerror(EPERM)); }')).toBe('Operation not supported\nOperation canceled\nOperation not permitted\n\n\n');
  });

  it('signal_name() as strsignal() (stdlib: signal_name)', async () => {
    expect(await out('begin { print(signal_name(2)); print(signal_name(0)); print(signal_name(1024)); print(signal_name(34)); printf("%s\\n", signal_name(15)); }'))
      .toBe('Interrupt\nUnknown signal 0\nN/A\nReal-time signal 0\nTerminated\n\n\n');
  });

  it('pid, tid, comm from the task', async () => {
    expect(await out('begin { printf("%d %d %s\\n", pid, tid, comm); }')).toBe('4242 4242 bash\n\n\n');
  });

  it('tracepoint args from the record, predicates, keyed maps by comm', async () => {
    const fields = [
      { name: 'common_pid', offset: 4, size: 4, signed: true, type: 'int', dataLoc: false, common: true },
      { name: '__syscall_nr', offset: 8, size: 4, signed: true, type: 'int', dataLoc: false },
      { name: 'fd', offset: 16, size: 8, signed: false, type: 'unsigned int', dataLoc: false },
      { name: 'count', offset: 32, size: 8, signed: false, type: 'size_t', dataLoc: false },
    ];
    const record = (fd: number, count: number): Uint8Array => {
      const b = new Uint8Array(40);
      const dv = new DataView(b.buffer);
      dv.setBigUint64(16, BigInt(fd), true);
      dv.setBigUint64(32, BigInt(count), true);
      return b;
    };
    const name = 'tracepoint:syscalls:sys_enter_read';
    const r = await runTraceInVm('tracepoint:syscalls:sys_enter_read /args.fd == 3/ { @[comm] = sum(args.count); }', {
      host: { task },
      resolveProbe: () => [{ provider: 'tracepoint', name, fields }],
      events: [{ probe: name, ctx: record(3, 100) }, { probe: name, ctx: record(4, 1000) }, { probe: name, ctx: record(3, 10) }],
    });
    expect(r.output).toBe('\n\n@[bash]: 110\n');
  });

  it('signal() sends the named or numbered signal to the current task through bpf_send_signal, with --unsafe only', async () => {
    const name = 'tracepoint:syscalls:sys_enter_getppid';
    const sent: number[] = [];
    const events = [{ probe: name, ctx: new Uint8Array(16) }];
    const run = (body: string): Promise<unknown> => runTraceInVm(`${name} { ${body} }`, {
      unsafe: true, host: { task, sendSignal: (sig) => { sent.push(sig); } }, resolveProbe: () => [{ provider: 'tracepoint', name, fields: [] }], events,
    });
    await run('signal("SIGUSR1");');
    await run('signal("KILL");');
    await run('$s = 2 * 6; signal($s);');
    expect(sent).toEqual([10, 9, 12]);
    expect(() => compileTrace('BEGIN { signal(3); }')).toThrow(/signal\(\) is an unsafe function being used in safe mode/);
    expect(() => compileTrace('BEGIN { signal(3); }', { unsafe: true })).toThrow(/signal can not be used with "BEGIN" probes/);
    const tp = { unsafe: true, resolveProbe: () => [{ provider: 'tracepoint' as const, name, fields: [] }] };
    expect(() => compileTrace(`${name} { signal("SIGFOO"); }`, tp)).toThrow(/^SIGFOO is not a valid signal \(at line 1/);
    expect(() => compileTrace(`${name} { signal(65); }`, tp)).toThrow(/^65 is not a valid signal, allowed range: \[1,64\] \(at/);
    expect(() => compileTrace(`${name} { $x = signal(3); }`, tp)).toThrow(/^signal\(\) should not be used in an assignment or as a map key \(at/);
  });

  it('-k (helperErrors): a map read that finds no element warns at run time; one that finds it, or no -k, does not', async () => {
    const src = 'begin { @[1] = 1; printf("%d %d\\n", @[1], @[2]); }';
    const warned = (await runTraceInVm(src, { host: { task }, helperErrors: true })).output;
    expect(warned.match(/WARNING: Can't lookup map element because it does not exist\.\nAdditional Info - helper: map_lookup_elem, retcode: 0/g)).toHaveLength(1);
    expect(warned).toContain('1 0\n');
    expect((await runTraceInVm(src, { host: { task } })).output).not.toContain('WARNING');
  });

  it('pid and tid count in the tracer\'s pid namespace when it is not the initial one; pid(init)/tid(init) stay global (pid_namespace)', async () => {
    const ns = { dev: 4, ino: 4026532999 };
    const inNs = { ...task, pid: 4243, tgid: 4242, pidNamespace: { dev: 4n, ino: 4026532999n, pid: 2, tgid: 1 } };
    const src = 'begin { printf("%d %d %d %d %d %d\\n", pid, pid(curr_ns), pid(init), tid, tid(curr_ns), tid(init)); }';
    expect((await runTraceInVm(src, { host: { task: inNs }, pidNs: ns })).output).toBe('1 1 4242 2 2 4243\n\n\n');
    // A task of another namespace has no id in the tracer's (0); without a namespace of its own the tracer counts globally.
    expect((await runTraceInVm(src, { host: { task: { ...inNs, pidNamespace: { ...inNs.pidNamespace, ino: 1n } } }, pidNs: ns })).output).toBe('0 0 4242 0 0 4243\n\n\n');
    expect((await runTraceInVm(src, { host: { task: inNs } })).output).toBe('4242 4242 4242 4243 4243 4243\n\n\n');
    expect(() => compileTrace('begin { print(pid(other)); }')).toThrow(/^pid\(\) only accepts curr_ns or init as the argument/);
  });

  it('cgroupFilter: every probe but BEGIN/END starts with bpf_current_task_under_cgroup on a cgroup array, which the verifier accepts', () => {
    const name = 'tracepoint:syscalls:sys_enter_getppid';
    const c = compileTrace(`BEGIN { @b = 1; } ${name} { @n = count(); }`, { cgroupFilter: true, resolveProbe: (t) => [t === 'BEGIN' ? { provider: 'begin', name: 'begin' } : { provider: 'tracepoint', name, fields: [] }] });
    const calls = (i: number): number[] => c.probes[i].spec.insns.filter((x) => x.code === 0x85 && x.src === 0).map((x) => x.imm);
    expect(calls(0)).not.toContain(37);
    expect(calls(1)).toContain(37);
    const cg = c.maps.find((m) => m.name === CGROUP_FILTER_MAP);
    expect(cg).toMatchObject({ type: MapType.BPF_MAP_TYPE_CGROUP_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    expect(verify({ ...c.probes[1].spec, maps: c.maps.filter((m) => c.probes[1].spec.insns.some((x) => x.ref === m.name)) }).processed).toBeGreaterThan(0);
  });

  it('JSON output (json-output: map, scalar)', async () => {
    const o = await out('begin { @map1["key1"] = 2; }', { format: 'json' });
    expect(JSON.parse(o.trim())).toEqual({ type: 'map', data: { '@map1': { key1: 2 } } });
  });
});

describe('trace language in the VM: program structs, parameters, options', () => {
  it('structs defined in the program follow C layout, packed or not (struct: struct with attribute)', async () => {
    expect(await out('struct foo { int x; char y; int z; } struct bar { int x; char y; int z; } __attribute__((packed)) begin { print(sizeof(struct foo)); print(sizeof(struct bar)); }')).toBe('12\n9\n\n\n');
    expect(await out('struct A {int32_t a; int32_t b; char c[28] }; begin { $a = (struct A*) 1024; printf("%lu\n", $a - 5); }')).toBe('844\n\n\n');
  });

  it('a member whose struct is defined in place is laid out with that struct\'s own alignment (offsetof as gcc gives it)', async () => {
    // gcc: offsetof(Foo, bar.y) 16, offsetof(Foo, z) 24, sizeof(Foo) 32, sizeof(Bar) 16, offsetof(P, b) 8, offsetof(F2, bar.x) 4.
    const src = 'struct Foo { int x; struct Bar { char c; long y; } bar; int z; } struct P { char a; struct Bar b; } struct F2 { int x; struct B2 { int x; } bar; } '
      + 'begin { printf("%ld %ld %ld %ld %ld %ld\\n", offsetof(struct Foo, bar.y), offsetof(struct Foo, z), sizeof(struct Foo), sizeof(struct Bar), offsetof(struct P, b), offsetof(struct F2, bar.x)); }';
    expect(await out(src)).toBe('16 24 32 16 8 4\n\n\n');
  });

  it('a struct value prints its members, bitfields by their bits (struct: struct with bitfield)', async () => {
    const src = 'struct foo { unsigned long long x_0:1; unsigned long long x_1:1; unsigned long long x_2:2; } begin { $val = (uint64)0x1e; $f = *(struct foo *)(&$val); print($f); }';
    expect(await out(src)).toBe('{ .x_0 = 0, .x_1 = 1, .x_2 = 3 }\n\n\n');
    const nested = 'struct In { short y; char z; } struct Out { int x; struct In i; } begin { $v = (uint64)0x0003000200000001; $o = *(struct Out *)(&$v); print($o); }';
    expect(await out(nested)).toBe('{ .x = 1, .i = { .y = 2, .z = 3 } }\n\n\n');
    // Members of a struct held in a variable, nested and bitfields included.
    expect(await out('struct In { short y; char z; } struct Out { int x; struct In i; } begin { $v = (uint64)0x0003000200000001; $o = *(struct Out *)(&$v); printf("%d %d %d\\n", $o.x, $o.i.y, $o.i.z); }')).toBe('1 2 3\n\n\n');
    expect(await out('struct foo { unsigned long long x_0:1; unsigned long long x_1:1; unsigned long long x_2:2; } begin { $val = (uint64)0x1e; $f = *(struct foo *)(&$val); printf("%d %d %d\\n", $f.x_0, $f.x_1, $f.x_2); }')).toBe('0 1 3\n\n\n');
  });

  it('typeof(TYPE) and typeof(EXPR) as types: let, casts, sizeof, and passed to macros (macro: typeof expressions)', async () => {
    expect(await out('macro add(x) { let $y: typeof(x); if (true) { $y = 1 } x + $y  } begin { print(add(1)); }')).toBe('2\n\n\n');
    expect(await out('macro m(t) { sizeof(t) + 2 } macro n(z) { print(m(typeof(z))); } begin { n(typeof(uint64*)); }')).toBe('10\n\n\n');
    expect(await out('struct S { int a; char b; } begin { print(sizeof(typeof(uint32*))); print(sizeof(typeof(struct S))); print((typeof(uint8))300); }')).toBe('8\n8\n44\n\n\n');
    expect(() => compileTrace('begin { print(typeof(1)); }')).toThrow(/^typeof\(\) is a type, not a value/);
  });

  it('positional parameters and getopt() (other: positional multiple bases, named command line params)', async () => {
    expect(await out('begin { printf("got: %d %o 0x%x %s\n", $1, $2, $3, str($4)); }', { positional: ['123', '0775', '0x123', 'hi'] })).toBe('got: 123 775 0x123 hi\n\n\n');
    expect(await out('begin { print((getopt("aa", 20), getopt("dd"), getopt("ee", "hello"))); }', { named: new Map<string, string | true>([['aa', '5'], ['dd', true]]) })).toBe('(5, true, hello)\n\n\n');
  });

  it('if/for without parentheses, loop variables scoped per loop (for: map multiple loops)', async () => {
    const o = await out('begin { @a[16] = 32; @b[64] = "aa"; for $kv : @a { print($kv); } for ($kv : @b) { print($kv); } if 1 { printf("ok\n"); } }');
    expect(o.startsWith('(16, 32)\n(64, aa)\nok\n')).toBe(true);
  });
});

describe('trace compiler: specs and diagnostics', () => {
  it('unkeyed aggregations use per-CPU arrays; keyed counters one lookup and an atomic add', () => {
    const c = compileTrace('begin { @c = count(); @k[1] = count(); }');
    const byName = new Map(c.maps.map((m) => [m.name, m]));
    expect(byName.get(c.mapInfo.get('@c')!.bpfName)!.type).toBe(6); // BPF_MAP_TYPE_PERCPU_ARRAY
    expect(byName.get(c.mapInfo.get('@k')!.bpfName)!.type).toBe(1); // BPF_MAP_TYPE_HASH
    const atomics = c.probes[0].spec.insns.filter((i) => i.code === 0xdb); // BPF_STX | BPF_ATOMIC | BPF_DW
    expect(atomics.length).toBeGreaterThan(0);
  });

  it('strings live in the per-CPU scratch map, not on the stack', () => {
    const c = compileTrace('begin { $s = str(arg0); printf("%s\\n", $s); }', { resolveProbe: () => [{ provider: 'rawtracepoint', name: 'rawtracepoint:x' }] });
    const scratch = c.maps.find((m) => m.name.startsWith('scratch'))!;
    expect(scratch.valueSize).toBeGreaterThanOrEqual(1024);
    const minStack = Math.min(...c.probes[0].spec.insns.filter((i) => (i.code & 0x07) === 0x03 && i.dst === 10).map((i) => i.off));
    expect(minStack).toBeGreaterThan(-512);
  });

  it('syntax errors have bpftrace positions and carets', () => {
    const src = 'begin { printf("x" }';
    let err: unknown;
    try {
      parseProgram(src);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TraceError);
    const text = renderDiagnostic(src, 'stdin', (err as TraceError).detail, (err as TraceError).loc);
    expect(text).toMatch(/^stdin:1:20-21: ERROR: syntax error, unexpected \}/);
    expect(text.split('\n')[2]).toBe(' '.repeat(19) + '~');
  });

  it('printf is checked at compile time in bpftrace\'s words, and a comma needs an argument after it', () => {
    const cases: [string, RegExp][] = [
      ['begin { printf("%d\\n"); }', /^printf: Not enough arguments for format string \(0 supplied, 1 expected\)$/],
      ['begin { printf("x\\n", 1); }', /^printf: Too many arguments for format string \(1 supplied, 0 expected\)$/],
      ['begin { printf("%d\\n", "a"); }', /^printf: %d specifier expects a value of type integer \(string supplied\)$/],
      ['begin { errorf("%lx\\n", comm); }', /^errorf: %lx specifier expects a value of type integer \(string supplied\)$/],
      ['begin { printf("%r\\n", 5); }', /^printf: %r specifier expects a value of type buffer \(integer supplied\)$/],
      ['begin { printf("%f\\n", 1); }', /^printf: Unknown format string token: %f$/],
      ['begin { printf("%d\\n", ); }', /^syntax error, unexpected \)$/],
      ['begin { @x[1, ] = 1; }', /^syntax error, unexpected \]$/],
    ];
    for (const [src, want] of cases) {
      let err: unknown;
      try {
        compileTrace(src);
      } catch (e) {
        err = e;
      }
      expect(err, src).toBeInstanceOf(TraceError);
      expect((err as TraceError).detail, src).toMatch(want);
      expect((err as TraceError).loc, src).toBeDefined();
    }
    // What bpftrace accepts still compiles: pointers and bools as integers, anything as %s, buffers as %r.
    expect(() => compileTrace('begin { printf("%d %s %s %r %x\\n", true, pid, comm, buf("ab", 2), curtask); }')).not.toThrow();
  });

  it('type errors name the problem (basic: has_key error scalar)', () => {
    expect(() => compileTrace('begin { @g = 2; if (has_key(@g, 2)) { printf("ok\\n"); } }')).toThrow(/call to has_key\(\) expects a map with explicit keys/);
    expect(() => compileTrace('begin { foo(); }')).toThrow(/Unknown function: 'foo'/);
    expect(() => compileTrace('config = { bad_config=raw } begin {}')).toThrow(/bad_config: not a known configuration option/);
  });

  it('a cast to a struct that neither the program nor the BTF defines is refused, as bpftrace 0.17 does', () => {
    const types = { record: (name: string) => (name === 'struct task_struct' ? { size: 8, fields: [] } : undefined) };
    expect(() => compileTrace('BEGIN { $p = (struct nosuch *)0; }', { types })).toThrow(/Unknown struct\/union: 'struct nosuch'/);
    expect(() => compileTrace('BEGIN { $p = (struct task_struct *)0; }', { types })).not.toThrow();
    expect(() => compileTrace('struct foo { int a; } BEGIN { $p = (struct foo *)0; }', { types })).not.toThrow();
  });

  it('functions take bpftrace\'s numbers of arguments (a missing one was an internal crash)', () => {
    const cases: [string, RegExp][] = [
      ['str()', /^str\(\) requires at least one argument \(0 provided\)/], ['str(1, 2, 3)', /^str\(\) takes up to 2 arguments \(3 provided\)/],
      ['ntop()', /^ntop\(\) requires at least one argument/], ['buf()', /^buf\(\) requires at least one argument/],
      ['strftime("%H")', /^strftime\(\) requires 2 arguments \(1 provided\)/], ['join()', /^join\(\) requires at least one argument/],
      ['strcontains("a")', /^strcontains\(\) requires 2 arguments/], ['ksym(1, 2)', /^ksym\(\) requires one argument \(2 provided\)/],
      ['print(1, 2, 3, 4)', /^print\(\) takes up to 3 arguments \(4 provided\)/], ['printf()', /^printf\(\) requires at least one argument/],
      ['kstack(1, 2, 3)', /^kstack\(\) takes up to 2 arguments/], ['time(1, 2)', /^time\(\) takes up to one argument \(2 provided\)/],
    ];
    for (const [call, re] of cases) expect(() => compileTrace(`begin { ${call}; }`), call).toThrow(re);
    // getopt's third argument is its description (bpftrace's runtime case "named params with description").
    expect(() => compileTrace('begin { print(getopt("aa", 10, "Description of aa")); }')).not.toThrow();
    expect(() => compileTrace('begin { print(getopt("aa", 10, "d", 4)); }')).toThrow(/^getopt\(\) takes up to 3 arguments \(4 provided\)/);
  });

  it('a map is keyed or a single value, never both (argument mismatch, as bpftrace; these crashed in code generation)', () => {
    for (const src of ['begin { @x[1] = 1; @x = 2; }', 'begin { @x = 2; @x[1] = 1; }', 'begin { @x = 2; $y = @x[1]; }', 'begin { @x[1] = 2; $y = @x; }', 'begin { @ = avg(10); @["b"] = avg(20); }', 'begin { @a[1] = 1; delete(@a); }']) {
      expect(() => compileTrace(src), src).toThrow(/^Argument mismatch for @\w*: trying to access with arguments: \[.*\] when map expects arguments: \[/);
    }
    expect(() => compileTrace('begin { @x[1] = 5; print(@x[]); }')).toThrow(/^syntax error, unexpected \]/);
    // `$x++` and `$x += 1` read $x first (these crashed, or compiled silently).
    expect(() => compileTrace('begin { $x++; }')).toThrow(/^Undefined or undeclared variable: \$x/);
    expect(() => compileTrace('begin { $x += 1; }')).toThrow(/^Undefined or undeclared variable: \$x/);
    expect(() => compileTrace('begin { $x = 1; $x++; $x += 2; @a[1] = 1; $d = delete(@a, 1); }')).not.toThrow();
    // Whole-map uses fit either shape.
    expect(() => compileTrace('begin { @x[1] = 2; print(@x); clear(@x); $n = len(@x); $h = has_key(@x, 1); delete(@x, 1); delete(@x[1]); }')).not.toThrow();
    expect(() => compileTrace('begin { @x = 2; print(@x); zero(@x); @x++; delete(@x); }')).not.toThrow();
  });

  it('a map that is read but never assigned is undefined, as bpftrace 0.17 says', () => {
    for (const src of ['BEGIN { printf("%d\\n", @x); }', 'BEGIN { print(@x); }', 'BEGIN { clear(@x); }', 'BEGIN { delete(@x[1]); }', 'BEGIN { if (@x[1] == 0) {} }', 'BEGIN { for ($kv : @x) {} }']) {
      expect(() => compileTrace(src), src).toThrow(/Undefined map: @x/);
    }
    // The error points at the use: the map, or the whole call of a statement function.
    expect(() => compileTrace('BEGIN { printf("%d", @x); }')).toThrow(expect.objectContaining({ code: 'E_TRACE_TYPE', loc: expect.objectContaining({ line: 1, col: 22 }) }));
    expect(() => compileTrace('BEGIN { print(@x); }')).toThrow(expect.objectContaining({ loc: expect.objectContaining({ col: 9 }) }));
    // Assigned anywhere (another probe, later in the text, by ++ or an aggregation): defined.
    for (const src of ['BEGIN { $a = @x; } END { @x = 1; }', 'BEGIN { @x++; print(@x); }', 'BEGIN { @x[1] += 2; }', 'BEGIN { @c = count(); print(@c); }']) {
      expect(() => compileTrace(src), src).not.toThrow();
    }
  });
});
