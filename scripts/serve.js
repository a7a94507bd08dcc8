#!/usr/bin/env node
// A static file server for the browser demo (examples/browser/), from Node's standard library:
// it serves the repository's files read-only, so the page can import dist/bindings/ and fetch
// build/*.wasm as a page on any web server would.
//
//   npm run serve                  http://127.0.0.1:8080/examples/browser/
//   npm run serve -- --port 9000   another port (0: any free one)
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.map': 'application/json', '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.md': 'text/plain; charset=utf-8', '.ts': 'text/plain; charset=utf-8',
};

/** The file under ROOT a URL path names, or null when it would leave ROOT. O(path). */
function fileFor(urlPath) {
  let path;
  try {
    path = decodeURIComponent(urlPath.split('?')[0].split('#')[0]);
  } catch {
    return null;
  }
  const file = normalize(join(ROOT, path));
  return (file + sep).startsWith(ROOT.endsWith(sep) ? ROOT : ROOT + sep) ? file : null;
}

/** Answers one request: the file, a directory's index.html, or 403/404/405. */
async function answer(req, res) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD' }).end('only GET and HEAD\n');
    return;
  }
  let file = fileFor(req.url ?? '/');
  if (file === null) {
    res.writeHead(403).end('outside the repository\n');
    return;
  }
  try {
    if ((await stat(file)).isDirectory()) {
      if (!req.url.split('?')[0].endsWith('/')) {
        res.writeHead(301, { Location: `${req.url.split('?')[0]}/` }).end();
        return;
      }
      file = join(file, 'index.html');
    }
    const body = await readFile(file);
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch {
    res.writeHead(404).end(`not found: ${req.url}\n`);
  }
}

/** Starts the server on 127.0.0.1:port (0: any free port); resolves to { server, url }. */
export function startServer(port = 8080) {
  const server = createServer((req, res) => {
    answer(req, res).catch((e) => res.writeHead(500).end(`${e.message}\n`));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}` }));
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf('--port');
  const port = Number(i >= 0 ? process.argv[i + 1] : process.env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve: --port wants a number from 0 to 65535, got ${process.argv[i + 1]}`);
    process.exit(2);
  }
  const { url } = await startServer(port);
  console.log(`ralloc-wasm in the browser: ${url}/examples/browser/  (Ctrl-C stops the server)`);
}
