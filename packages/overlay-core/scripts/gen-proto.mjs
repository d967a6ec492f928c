#!/usr/bin/env node
// Generates the TypeScript types of the node API from proto/overlay.proto (@grpc/proto-loader's
// proto-loader-gen-types, with the options src/protocol/messages.ts loads the service with) into
// src/protocol/generated/. The output is committed; `--check` regenerates into a temporary folder
// and exits 1 when the committed files differ (a test runs it).
//
//   node scripts/gen-proto.mjs [--check]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(pkg, 'src', 'protocol', 'generated');
const HEADER = '// Generated from proto/overlay.proto by scripts/gen-proto.mjs: do not edit.';

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

/** Generates into `out`, then makes the files reproducible (no absolute paths). */
function generate(out) {
  const require = createRequire(import.meta.url);
  const bin = join(
    dirname(require.resolve('@grpc/proto-loader/package.json')),
    'build',
    'bin',
    'proto-loader-gen-types.js',
  );
  const r = spawnSync(
    process.execPath,
    // The file first: --includeDirs takes every argument after it.
    [
      bin,
      'overlay.proto',
      '--keepCase',
      '--longs=Number',
      '--enums=String',
      '--defaults=false',
      '--oneofs=false',
      '--includeComments',
      '--grpcLib=@grpc/grpc-js',
      '--importFileExtension=.js',
      `--outDir=${out}`,
      `--includeDirs=${join(pkg, 'proto')}`,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`proto-loader-gen-types failed:\n${r.stderr}`);
  for (const file of files(out)) {
    const text = readFileSync(file, 'utf8').replace(/^\/\/ Original file: .*$/m, HEADER);
    writeFileSync(file, text.startsWith(HEADER) ? text : `${HEADER}\n${text}`);
  }
}

const check = process.argv.includes('--check');
const out = check ? mkdtempSync(join(tmpdir(), 'vnet-proto-')) : target;
if (!check) rmSync(target, { recursive: true, force: true });
generate(out);
if (check) {
  const rel = (dir) =>
    files(dir)
      .map((f) => relative(dir, f))
      .sort();
  const want = rel(out);
  const have = (() => {
    try {
      return rel(target);
    } catch {
      return [];
    }
  })();
  const stale = [
    ...want.filter(
      (f) =>
        !have.includes(f) ||
        readFileSync(join(out, f), 'utf8') !== readFileSync(join(target, f), 'utf8'),
    ),
    ...have.filter((f) => !want.includes(f)),
  ];
  rmSync(out, { recursive: true, force: true });
  if (stale.length > 0) {
    process.stderr.write(
      `src/protocol/generated is stale (${stale.join(', ')}): run npm run gen:proto -w @vnet/overlay-core\n`,
    );
    process.exit(1);
  }
}
