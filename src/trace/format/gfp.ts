/** GFP allocation flags as text (`GFP_KERNEL|__GFP_ZERO`), for printf's `%gr`, in the order of the kernel's `__def_gfpflag_names`. */

const BIT = (n: number): bigint => 1n << BigInt(n);
// Bit numbers of include/linux/gfp_types.h.
const DMA = BIT(0), HIGHMEM = BIT(1), DMA32 = BIT(2), MOVABLE = BIT(3), HIGH = BIT(5), IO = BIT(6), FS = BIT(7), ZERO = BIT(8);
const DIRECT_RECLAIM = BIT(10), KSWAPD_RECLAIM = BIT(11), WRITE = BIT(12), NOWARN = BIT(13), RETRY_MAYFAIL = BIT(14), NOFAIL = BIT(15);
const NORETRY = BIT(16), MEMALLOC = BIT(17), COMP = BIT(18), NOMEMALLOC = BIT(19), HARDWALL = BIT(20), THISNODE = BIT(21), ACCOUNT = BIT(22);
const ZEROTAGS = BIT(23), SKIP_ZERO = BIT(24), SKIP_KASAN = BIT(25), NO_OBJ_EXT = BIT(26);
const RECLAIM = DIRECT_RECLAIM | KSWAPD_RECLAIM;
const GFP_KERNEL = RECLAIM | IO | FS;
const GFP_NOIO = RECLAIM;
const GFP_NOFS = GFP_NOIO | IO;
const GFP_USER = GFP_NOFS | FS | HARDWALL;
const GFP_HIGHUSER = GFP_USER | HIGHMEM;
const GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | MOVABLE | SKIP_KASAN;
const GFP_TRANSHUGE_LIGHT = (GFP_HIGHUSER_MOVABLE | COMP | NOMEMALLOC | NOWARN) & ~RECLAIM;

/** Masks in matching order: compound names first, so leftovers show by themselves. */
const FLAG_NAMES: readonly (readonly [bigint, string])[] = [
  [GFP_TRANSHUGE_LIGHT | DIRECT_RECLAIM, 'GFP_TRANSHUGE'], [GFP_TRANSHUGE_LIGHT, 'GFP_TRANSHUGE_LIGHT'],
  [GFP_HIGHUSER_MOVABLE, 'GFP_HIGHUSER_MOVABLE'], [GFP_HIGHUSER, 'GFP_HIGHUSER'], [GFP_USER, 'GFP_USER'],
  [GFP_KERNEL | ACCOUNT, 'GFP_KERNEL_ACCOUNT'], [GFP_KERNEL, 'GFP_KERNEL'], [GFP_NOFS, 'GFP_NOFS'], [HIGH | KSWAPD_RECLAIM, 'GFP_ATOMIC'],
  [GFP_NOIO, 'GFP_NOIO'], [KSWAPD_RECLAIM | NOWARN, 'GFP_NOWAIT'], [DMA, 'GFP_DMA'], [HIGHMEM, '__GFP_HIGHMEM'], [DMA32, 'GFP_DMA32'],
  [HIGH, '__GFP_HIGH'], [IO, '__GFP_IO'], [FS, '__GFP_FS'], [ZERO, '__GFP_ZERO'], [DIRECT_RECLAIM, '__GFP_DIRECT_RECLAIM'],
  [KSWAPD_RECLAIM, '__GFP_KSWAPD_RECLAIM'], [WRITE, '__GFP_WRITE'], [NOWARN, '__GFP_NOWARN'], [RETRY_MAYFAIL, '__GFP_RETRY_MAYFAIL'],
  [NOFAIL, '__GFP_NOFAIL'], [NORETRY, '__GFP_NORETRY'], [MEMALLOC, '__GFP_MEMALLOC'], [COMP, '__GFP_COMP'], [NOMEMALLOC, '__GFP_NOMEMALLOC'],
  [HARDWALL, '__GFP_HARDWALL'], [THISNODE, '__GFP_THISNODE'], [ACCOUNT, '__GFP_ACCOUNT'], [ZEROTAGS, '__GFP_ZEROTAGS'],
  [SKIP_ZERO, '__GFP_SKIP_ZERO'], [SKIP_KASAN, '__GFP_SKIP_KASAN'], [NO_OBJ_EXT, '__GFP_NO_OBJ_EXT'],
];

/** `flags` as bpftrace's `%gr` prints them: names joined by `|`, unknown bits as hex last, `0` for none. */
export function gfpFlagsText(flags: bigint): string {
  let rest = BigInt.asUintN(64, flags);
  if (rest === 0n) return '0';
  const parts: string[] = [];
  for (const [mask, name] of FLAG_NAMES) {
    if ((rest & mask) === mask) {
      parts.push(name);
      rest &= ~mask;
    }
  }
  if (rest !== 0n) parts.push(`0x${rest.toString(16)}`);
  return parts.join('|');
}
