/** The playground page: tabs, URL-fragment state, and the filter and eBPF tools wired to bpfkit's public API. */
import { initFilterTab } from './filter-tab.js';
import { initEbpfTab } from './ebpf-tab.js';
import { initTraceTab } from './trace-tab.js';
import { readFragment } from './fragment.js';

const TABS = ['filter', 'ebpf', 'trace'] as const;
type Tab = (typeof TABS)[number];

function selectTab(tab: Tab, focus = false): void {
  for (const t of TABS) {
    const button = document.getElementById(`tab-${t}`) as HTMLButtonElement;
    const on = t === tab;
    button.setAttribute('aria-selected', String(on));
    button.tabIndex = on ? 0 : -1;
    (document.getElementById(`panel-${t}`) as HTMLElement).hidden = !on;
    if (on && focus) button.focus();
  }
  document.body.dataset.tab = tab;
}

// Arrow keys move between tabs, as the WAI-ARIA tabs pattern has it.
for (const [i, t] of TABS.entries()) {
  const button = document.getElementById(`tab-${t}`) as HTMLButtonElement;
  button.addEventListener('click', () => selectTab(t));
  button.addEventListener('keydown', (e) => {
    const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (step) selectTab(TABS[(i + step + TABS.length) % TABS.length], true);
  });
}

// File inputs stay hidden; buttons open them, so the keyboard reaches them too.
for (const [button, input] of [['capture-choose', 'capture-file'], ['elf-choose', 'elf-file']]) {
  document.getElementById(button)?.addEventListener('click', () => document.getElementById(input)?.click());
}

const state = readFragment(location.hash);
selectTab(state.filter !== undefined ? 'filter' : state.ebpf !== undefined ? 'ebpf' : state.trace !== undefined ? 'trace' : 'filter');
initFilterTab(state);
initEbpfTab(state);
initTraceTab(state);
document.body.dataset.ready = 'true';

// Offline once loaded: the build's service worker caches every file (served pages only; a file:// copy has none).
if ('serviceWorker' in navigator && location.protocol.startsWith('http')) {
  navigator.serviceWorker.register('./sw.js').then(
    () => { document.body.dataset.offline = 'registered'; },
    (e: unknown) => { console.warn('service worker not registered:', e); },
  );
}
