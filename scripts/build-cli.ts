/**
 * Bundles the CLI into dist/cli/bundle, one file per command module, so that `bpfkit trace`
 * starts by reading a few files instead of resolving ~150 ES modules.
 *
 * Each command's file holds the whole CLI shell (src/cli/main.ts: argument dispatch, output
 * sinks, signals, error printing) and that command, with the other commands left as imports
 * that never run: a process then has one copy of every module, so module state (the stdout
 * sink, the stop-signal handlers) and `instanceof` checks work as in the unbundled build.
 * main.cjs picks the file by the command words, from the table in src/cli/commands.ts, and runs
 * it with V8's code cache.
 *
 * Run by `npm run build` (and so by `npm ci`, through `prepare`). The library (dist/src) is
 * tsc's output and is not touched. koffi stays external (native); cli-progress too (CommonJS,
 * loaded only for a progress bar on a terminal).
 */

import { build, type BuildOptions, type Plugin } from 'esbuild';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { directImports } from './direct-imports.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Three levels below the package root, as dist/src/cli is: the CLI finds dist/web, tools/ and its scan worker relative to itself. */
const outdir = path.join(root, 'dist/cli/bundle');
const table = path.join(root, 'src/cli/commands.ts');

/** Command words → the module that defines the command (`{ name: ['cbpf', 'run'], … import('./cbpf.js') }`). */
const rows = [...readFileSync(table, 'utf8').matchAll(/name: \[([^\]]*)\][^\n]*?import\('\.\/([a-z-]+)\.js'\)/g)].map((m) => ({
  words: [...m[1].matchAll(/'([^']*)'/g)].map((w) => w[1]),
  file: m[2],
}));
if (rows.length < 10) throw new Error(`build-cli: read only ${rows.length} commands from ${table}`);
const files = [...new Set(rows.map((r) => r.file))];
/** The file for a run that names no command (help, --version, a mistyped command). */
const USAGE = 'usage';
if (files.includes(USAGE) || files.includes('main')) throw new Error(`build-cli: a command module is named ${USAGE} or main`);

/** Keeps the table's imports of commands other than `own` as imports of their sibling files. */
function otherCommands(own: string | undefined): Plugin {
  return {
    name: 'other-commands',
    setup(b) {
      b.onResolve({ filter: /^\.\/[a-z-]+\.js$/ }, (a) => (a.importer === table && a.path !== `./${own}.js` ? { path: a.path, external: true } : undefined));
    },
  };
}

/**
 * bpfkit's own modules have no import-time side effects (their top-level code fills their own
 * tables), so a module none of whose exports is used is left out: the barrels (src/ebpf/index.ts,
 * src/kernel/index.ts) then cost nothing. Declared here rather than in package.json, which would
 * also apply to the playground's Vite build and to users' bundlers.
 */
const pureSources: Plugin = {
  name: 'pure-sources',
  setup(b) {
    const src = path.join(root, 'src') + path.sep;
    b.onResolve({ filter: /^\.\.?\// }, async (a) => {
      if (a.pluginData === 'pure-sources' || !a.importer.startsWith(src)) return undefined;
      const r = await b.resolve(a.path, { importer: a.importer, resolveDir: a.resolveDir, kind: a.kind, pluginData: 'pure-sources' });
      if (r.errors.length) return { errors: r.errors };
      return r.external || !r.path.startsWith(src) ? undefined : { path: r.path, sideEffects: false };
    });
  },
};

/**
 * The command files are CommonJS, loaded by main.cjs through vm.Script with V8's code cache:
 * CommonJS skips the ES module loader, and the cache skips most of parsing and compiling.
 * `import.meta` has no CommonJS form: its two uses are defined from the file's own path.
 */
const commandOptions: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['koffi', 'cli-progress'],
  logLevel: 'warning',
  legalComments: 'none',
  define: { 'import.meta.url': '__bpfkitImportMetaUrl', 'import.meta.resolve': '__bpfkitImportMetaResolve' },
  banner: {
    js: "const __bpfkitImportMetaUrl = require('node:url').pathToFileURL(__filename).href;\n" +
      "const __bpfkitImportMetaResolve = (s) => require('node:url').pathToFileURL(require.resolve(s)).href;",
  },
};

/**
 * A dynamic import of a Node built-in or an external package becomes a require: the code cache
 * drops vm.Script's dynamic-import callback, and require skips the ES module facade.
 */
const requireExternals: Plugin = {
  name: 'require-externals',
  setup(b) {
    b.onResolve({ filter: /^(node:|koffi$|cli-progress$)/ }, (a) => (a.kind === 'dynamic-import' ? { path: a.path, namespace: 'require' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'require' }, (a) => ({ contents: `module.exports = require(${JSON.stringify(a.path)});`, loader: 'js' }));
  },
};

/** Named imports from barrels go to the defining modules (scripts/direct-imports.ts): a barrel's lazy initializer would run everything it re-exports. */
const barrelsLookedThrough = directImports(path.join(root, 'src'));

/** One command file: the CLI shell and the command module `own` (none: the usage file). */
async function buildShell(own: string | undefined, tmp: string): Promise<void> {
  await build({
    ...commandOptions,
    stdin: { contents: "export { runProcess } from './src/cli/main.ts';", resolveDir: root, sourcefile: `bpfkit-${own ?? USAGE}.ts`, loader: 'ts' },
    outfile: path.join(tmp, `${own ?? USAGE}.cjs`),
    plugins: [otherCommands(own), pureSources, requireExternals, barrelsLookedThrough],
  });
}

/**
 * main.cjs: picks the command's file by the longest run of command words (as main.ts's
 * findCommand does) and runs it through vm.Script with V8's code cache, kept beside it
 * (`trace.cjs.cache`; `filter.cjs.max-semi-space-size=2.cache` for a run with that node flag). The first run of a command writes its cache when it exits (temporary
 * file, then rename; skipped where the directory is not writable), with the functions that run
 * compiled; V8 rejects a cache of other source or another V8, which is then written anew.
 * A run that only lists or prints help (`trace -l`, `--help`) uses a cache but writes none: it
 * compiles a corner of the command, and a cache once written is kept (a first `trace -l` left
 * every later trace program compiling the compiler anew, ~10 ms of each launch).
 */
function dispatcher(): string {
  const byName = Object.fromEntries(rows.map((r) => [r.words.join(' '), r.file]));
  return `'use strict';
// Generated by scripts/build-cli.ts: runs the bundled file of the command that argv names, with V8's code cache.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { createRequire, wrap } = require('node:module');

const FILES = ${JSON.stringify(byName, null, 2)};

function pick(argv) {
  let file = ${JSON.stringify(USAGE)};
  let words = 0;
  for (const [name, f] of Object.entries(FILES)) {
    const w = name.split(' ');
    if (w.length > words && w.every((x, i) => argv[i] === x)) {
      words = w.length;
      file = f;
    }
  }
  return file;
}

// Arguments of runs that take a small corner of a command: they write no cache (see build-cli.ts).
const PARTIAL = new Set(['-h', '--help', '-l', '-lv', '-vl', '--version']);
// V8 rejects a cache made under other flags (bin/bpfkit runs \`filter\` with or without one): a cache per flag set.
const FLAGS_TAG = process.execArgv.join(' ').replace(/[^A-Za-z0-9=]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80);

function load(name) {
  const file = path.join(__dirname, name + '.cjs');
  const cacheFile = file + (FLAGS_TAG ? '.' + FLAGS_TAG : '') + '.cache';
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(wrap(fs.readFileSync(file, 'utf8')), { filename: file, cachedData });
  if ((cachedData === undefined || script.cachedDataRejected) && !process.argv.slice(2).some((a) => PARTIAL.has(a))) {
    process.once('exit', () => {
      const tmp = cacheFile + '.' + process.pid + '.tmp';
      try {
        fs.writeFileSync(tmp, script.createCachedData());
        fs.renameSync(tmp, cacheFile);
      } catch {
        try { fs.unlinkSync(tmp); } catch { /* nothing was written */ }
      }
    });
  }
  const mod = { exports: {} };
  script.runInThisContext().call(mod.exports, mod.exports, createRequire(file), mod, file, __dirname);
  return mod.exports;
}

exports.runProcess = () => load(pick(process.argv.slice(2))).runProcess();
`;
}

/**
 * Escapes what esbuild leaves non-ASCII (it keeps comments as written: `→`, `…`). One such
 * character makes the whole file a two-byte string in V8: twice the bytes to decode when a
 * command starts (~2 ms for trace's bundle) and to scan when a function is first compiled.
 * `\uXXXX` means the same character in a string, template, regular expression or identifier.
 */
function asciiOnly(file: string): void {
  const text = readFileSync(file, 'utf8');
  // eslint-disable-next-line no-control-regex
  const ascii = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (ascii !== text) writeFileSync(file, ascii);
}

// Built beside, then moved into place: a failed build leaves the previous bundle whole.
const tmp = `${outdir}.tmp-${process.pid}`;
rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp, { recursive: true });
try {
  await Promise.all([
    ...files.map((f) => buildShell(f, tmp)),
    buildShell(undefined, tmp),
    // The parallel scan's worker script, beside the code that starts it (src/node/parallel-scan.ts); ESM, as Worker loads it.
    build({
      entryPoints: [path.join(root, 'src/node/scan-worker.ts')], outfile: path.join(tmp, 'scan-worker.js'), plugins: [pureSources],
      bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning', legalComments: 'none',
    }),
  ]);
  for (const f of [...files, USAGE]) asciiOnly(path.join(tmp, `${f}.cjs`));
  writeFileSync(path.join(tmp, 'main.cjs'), dispatcher());
  rmSync(outdir, { recursive: true, force: true });
  renameSync(tmp, outdir);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
