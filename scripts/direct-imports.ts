/**
 * An esbuild plugin for the CLI bundles: `import { x } from '../kernel/index.js'` becomes an import
 * of the module that defines `x`, so a barrel costs nothing at start-up.
 *
 * Why: a command file loads most of its code through dynamic imports (`await import('../trace/runtime.js')`),
 * and esbuild wraps every module such an import reaches in a lazy initializer. A barrel's
 * initializer runs the initializers of everything it re-exports: `src/kernel/index.ts` alone ran
 * capture, seccomp, the socket filters, the ELF loader, the eBPF assemblers and the verifier's tables
 * for `bpfkit trace`, which uses none of them (~4 ms of its launch), and kept their code in the file.
 *
 * Only barrels made of re-exports alone (`export * from`, `export { a } from`) are looked through,
 * and only named value imports are rewritten; anything else (a default or namespace import, a name
 * the barrels do not lead to) is left as written. Source files are not changed: the library (tsc's
 * dist/src) keeps its barrels.
 */

import type { Plugin } from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** Where an exported name is defined: the file and the name it has there. */
interface Origin { file: string; name: string }

/** A relative specifier's TypeScript file (`./x.js` → x.ts, `./dir/index.js` → dir/index.ts). */
function resolveTs(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const file = path.resolve(path.dirname(from), spec.replace(/\.js$/, '.ts'));
  return existsSync(file) ? file : undefined;
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
}

/** True for a statement that declares or exports a value at the top level (re-exports excepted). */
function declaresHere(s: ts.Statement): boolean {
  if (ts.isImportDeclaration(s) || ts.isEmptyStatement(s)) return false;
  if (ts.isExportDeclaration(s)) return s.moduleSpecifier === undefined;
  return !ts.isInterfaceDeclaration(s) && !ts.isTypeAliasDeclaration(s);
}

/** Names a module exports by its own declarations (`export function f`, `export { a as b }`), each to its local name. */
function ownExports(sf: ts.SourceFile): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of sf.statements) {
    const exported = ts.canHaveModifiers(s) && ts.getModifiers(s)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    if (exported) {
      if (ts.isVariableStatement(s)) {
        for (const d of s.declarationList.declarations) if (ts.isIdentifier(d.name)) out.set(d.name.text, d.name.text);
      } else if ((ts.isFunctionDeclaration(s) || ts.isClassDeclaration(s) || ts.isEnumDeclaration(s)) && s.name) {
        out.set(s.name.text, s.name.text);
      }
    }
    if (ts.isExportDeclaration(s) && !s.moduleSpecifier && s.exportClause && ts.isNamedExports(s.exportClause) && !s.isTypeOnly) {
      for (const e of s.exportClause.elements) if (!e.isTypeOnly) out.set(e.name.text, (e.propertyName ?? e.name).text);
    }
  }
  return out;
}

/** Resolves the names of pure barrels to their defining modules; caches per file. */
export class BarrelMap {
  private readonly barrels = new Map<string, Map<string, Origin> | null>();
  private readonly modules = new Map<string, Map<string, string>>();

  /** The barrel's names and origins, or null when `file` is not a barrel made of re-exports alone. */
  barrel(file: string): Map<string, Origin> | null {
    const hit = this.barrels.get(file);
    if (hit !== undefined) return hit;
    this.barrels.set(file, null);
    const sf = parse(file);
    if (sf.statements.some(declaresHere)) return null;
    const out = new Map<string, Origin>();
    for (const s of sf.statements) {
      if (!ts.isExportDeclaration(s) || s.isTypeOnly || !s.moduleSpecifier || !ts.isStringLiteral(s.moduleSpecifier)) continue;
      const target = resolveTs(file, s.moduleSpecifier.text);
      if (!target) return null;
      if (!s.exportClause) {
        for (const [name, origin] of this.exportsOf(target)) if (!out.has(name)) out.set(name, origin);
      } else if (ts.isNamedExports(s.exportClause)) {
        const from = this.exportsOf(target);
        for (const e of s.exportClause.elements) {
          if (e.isTypeOnly) continue;
          const origin = from.get((e.propertyName ?? e.name).text);
          if (origin) out.set(e.name.text, origin);
        }
      } else {
        return null;
      }
    }
    this.barrels.set(file, out);
    return out;
  }

  /** Every value a module exports, through barrels to the defining module. */
  private exportsOf(file: string): Map<string, Origin> {
    const b = this.barrel(file);
    if (b) return b;
    let own = this.modules.get(file);
    if (!own) {
      own = ownExports(parse(file));
      this.modules.set(file, own);
    }
    return new Map([...own].map(([name, local]) => [name, { file, name: local }]));
  }
}

/** The text of `file` with its named imports from pure barrels pointed at the defining modules; undefined when nothing changes. */
export function rewriteBarrelImports(file: string, text: string, map: BarrelMap): string | undefined {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const edits: { start: number; end: number; text: string }[] = [];
  for (const s of sf.statements) {
    if (!ts.isImportDeclaration(s) || !ts.isStringLiteral(s.moduleSpecifier)) continue;
    const clause = s.importClause;
    if (!clause || clause.isTypeOnly || clause.name || !clause.namedBindings || !ts.isNamedImports(clause.namedBindings)) continue;
    const target = resolveTs(file, s.moduleSpecifier.text);
    const barrel = target ? map.barrel(target) : null;
    if (!barrel) continue;
    const groups = new Map<string, string[]>();
    let complete = true;
    for (const e of clause.namedBindings.elements) {
      if (e.isTypeOnly) continue;
      const origin = barrel.get((e.propertyName ?? e.name).text);
      if (!origin) {
        complete = false;
        break;
      }
      const local = e.name.text;
      const list = groups.get(origin.file) ?? [];
      list.push(origin.name === local ? local : `${origin.name} as ${local}`);
      groups.set(origin.file, list);
    }
    if (!complete) continue;
    const lines = [...groups].map(([origin, names]) => {
      let rel = path.relative(path.dirname(file), origin).replace(/\.ts$/, '.js').split(path.sep).join('/');
      if (!rel.startsWith('.')) rel = `./${rel}`;
      return `import { ${names.join(', ')} } from ${JSON.stringify(rel)};`;
    });
    edits.push({ start: s.getStart(sf), end: s.getEnd(), text: lines.join(' ') });
  }
  if (!edits.length) return undefined;
  let out = text;
  for (const e of edits.reverse()) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

/** The plugin: rewrites the TypeScript sources under `srcDir` as they are loaded into a bundle. */
export function directImports(srcDir: string): Plugin {
  const map = new BarrelMap();
  const prefix = srcDir.endsWith(path.sep) ? srcDir : srcDir + path.sep;
  return {
    name: 'direct-imports',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (a) => {
        if (!a.path.startsWith(prefix)) return undefined;
        const text = readFileSync(a.path, 'utf8');
        const contents = rewriteBarrelImports(a.path, text, map);
        return contents === undefined ? undefined : { contents, loader: 'ts' };
      });
    },
  };
}
