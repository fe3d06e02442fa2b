/** `bpfkit playground`: serves the built browser playground (dist/web) on localhost; nothing else is reachable. */

import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from './command.js';
import { flagInt, parseArgs, type FlagSpec } from './args.js';
import { UsageError } from '../util/index.js';

const FLAGS: FlagSpec[] = [{ names: ['--port', '-p'], key: 'port', value: true }];

const HELP = `usage: bpfkit playground [--port N]
Serve the playground (filter compiler, CFG drawings, eBPF assembler and VM, all running in the
browser tab) on http://127.0.0.1:N/ (default 8417; 0 picks a free port). Open
http://127.0.0.1:N/#filter=<expression> to start on an expression. Ctrl-C stops it.`;

/** Content types by extension: the few a Vite build emits. */
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.wasm': 'application/wasm', '.png': 'image/png', '.json': 'application/json', '.ico': 'image/x-icon',
};

/** The built page: dist/web next to dist/src (this file is dist/src/cli/playground.js once built). */
export function playgroundDir(): string {
  return fileURLToPath(new URL('../../web/', import.meta.url));
}

/** Serves the files under `root` on 127.0.0.1:`port`; resolves once listening. */
export function servePlayground(root: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    let path: string;
    try {
      path = decodeURIComponent((req.url ?? '/').split(/[?#]/)[0]);
    } catch {
      res.writeHead(400).end();
      return;
    }
    const rel = normalize(path === '/' ? '/index.html' : path);
    const file = join(root, rel);
    // Only files under root: '..' segments cannot escape it.
    if (!file.startsWith(root.endsWith(sep) ? root : root + sep) || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404).end();
      return;
    }
    readFile(file).then(
      (body) => {
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      () => res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n'),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

export const playgroundCommand: Command = {
  name: ['playground'],
  summary: 'serve the in-browser playground on localhost',
  help: HELP,
  async run(argv, io) {
    const args = parseArgs(argv, FLAGS);
    const port = flagInt(args, 'port') ?? 8417;
    if (port > 65535) throw new UsageError('E_USAGE', `port ${port} out of range`);
    const root = playgroundDir();
    if (!existsSync(join(root, 'index.html'))) {
      throw new UsageError('E_USAGE', `the playground is not built (${root}index.html missing): run npm run build`);
    }
    const server = await servePlayground(root, port);
    const addr = server.address();
    const actual = typeof addr === 'object' && addr ? addr.port : port;
    io.stdout(`bpfkit playground: http://127.0.0.1:${actual}/\n`);
    await new Promise<void>((resolve) => {
      const stop = (): void => { server.close(); resolve(); };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  },
};
