/** The page's shareable state in the URL fragment: `#filter=<expr>&form=dd&ebpf=<asm>&trace=<program>`; nothing leaves the browser. */

export interface PageState {
  filter?: string;
  form?: string;
  linktype?: string;
  ebpf?: string;
  syntax?: string;
  trace?: string;
}

const KEYS: readonly (keyof PageState)[] = ['filter', 'form', 'linktype', 'ebpf', 'syntax', 'trace'];

/** Reads the fragment; unknown keys are ignored, and a bad escape keeps the raw text. */
export function readFragment(hash: string): PageState {
  const out: PageState = {};
  for (const part of hash.replace(/^#/, '').split('&')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq) as keyof PageState;
    // An empty value is as good as absent: the tab keeps its example.
    if (!KEYS.includes(key) || eq === part.length - 1) continue;
    const raw = part.slice(eq + 1);
    try {
      out[key] = decodeURIComponent(raw.replace(/\+/g, ' '));
    } catch {
      out[key] = raw;
    }
  }
  return out;
}

const current: PageState = {};

/** Merges `patch` into the fragment without adding a history entry per keystroke. */
export function writeFragment(patch: PageState): void {
  Object.assign(current, readFragment(location.hash), patch);
  const parts: string[] = [];
  for (const k of KEYS) {
    const v = current[k];
    if (v !== undefined && v !== '') parts.push(`${k}=${encodeURIComponent(v)}`);
  }
  history.replaceState(null, '', `#${parts.join('&')}`);
}
