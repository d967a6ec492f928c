// Reading an overlay network config from text or a file: a full DC/OS installer `config.yaml`
// (the `dcos_overlay_network` key, a mapping or a JSON string as DC/OS generated it) or a file
// holding just that block, in YAML or JSON. Problems come back located by line and column.
import { readFile } from 'node:fs/promises';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { ConfigIssue, ConfigPath } from './types.js';
import { type ValidateOptions, type ValidationResult, validateNetworkConfig } from './validate.js';

const BLOCK_KEY = 'dcos_overlay_network';

/** Parses and validates config text (YAML or JSON). */
export function parseConfigText(text: string, options: ValidateOptions = {}): ValidationResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return {
          path: [],
          message: `syntax: ${firstLine(e.message)}`,
          line: pos.line,
          column: pos.col,
        };
      }),
    };
  }
  let whole: unknown;
  try {
    whole = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return {
      ok: false,
      issues: [{ path: [], message: `cannot be read: ${(err as Error).message}` }],
    };
  }
  const locate = (path: ConfigPath) => position(doc.contents, path, lines);

  if (isRecord(whole) && BLOCK_KEY in whole) {
    let block = whole[BLOCK_KEY];
    let locateInBlock = locate;
    if (typeof block === 'string') {
      // DC/OS's generated configs carry the block as a JSON string: point at its key.
      const inner = parseDocument(block);
      if (inner.errors.length > 0) {
        const why = firstLine(inner.errors[0]!.message);
        return fail([BLOCK_KEY], `is a string but not valid JSON or YAML: ${why}`, locate);
      }
      block = inner.toJS();
      locateInBlock = () => locate([BLOCK_KEY]);
    }
    // The installer's top-level dcos_overlay_mtu applies when the block has no overlay_mtu.
    const mtu = whole['dcos_overlay_mtu'];
    const useMtu = mtu !== undefined && isRecord(block) && block['overlay_mtu'] === undefined;
    const input = useMtu ? { ...(block as Record<string, unknown>), overlay_mtu: mtu } : block;
    const result = validateNetworkConfig(input, options);
    if (result.ok) return result;
    const absolute = (path: ConfigPath): ConfigPath =>
      useMtu && path[0] === 'overlay_mtu' ? ['dcos_overlay_mtu'] : [BLOCK_KEY, ...path];
    return relocate(result.issues, absolute, (path) =>
      path[0] === BLOCK_KEY ? locateInBlock(path) : locate(path),
    );
  }
  if (isRecord(whole) && ('vtep_subnet' in whole || 'overlays' in whole)) {
    const result = validateNetworkConfig(whole, options);
    return result.ok ? result : relocate(result.issues, (path) => path, locate);
  }
  return fail(
    [],
    `no "${BLOCK_KEY}" block and no vtep_subnet or overlays keys: not an overlay network config`,
    locate,
  );
}

/** Reads and validates a config file; a file that cannot be read is one issue, not a throw. */
export async function loadConfigFile(
  file: string,
  options: ValidateOptions = {},
): Promise<ValidationResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String(err);
    return { ok: false, issues: [{ path: [], message: `cannot read ${file}: ${why}` }] };
  }
  return parseConfigText(text, options);
}

type Locate = (path: ConfigPath) => { line: number; column: number } | undefined;

/** Rewrites block-relative issue paths to file paths and adds their positions. */
function relocate(
  issues: ConfigIssue[],
  absolute: (path: ConfigPath) => ConfigPath,
  locate: Locate,
): ValidationResult {
  return {
    ok: false,
    issues: issues.map((i) => {
      const path = absolute(i.path);
      return { ...i, path, ...locate(path) };
    }),
  };
}

function fail(path: ConfigPath, message: string, locate: Locate): ValidationResult {
  return { ok: false, issues: [{ path, message, ...locate(path) }] };
}

/** Where a path points in the document: the key of a mapping entry, or the nearest ancestor. */
function position(
  root: Node | null,
  path: ConfigPath,
  lines: LineCounter,
): { line: number; column: number } | undefined {
  let node: unknown = root;
  let at: Node | undefined = root ?? undefined;
  for (const part of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === part);
      if (!pair) break;
      at = (pair.key as Node) ?? at;
      node = pair.value;
    } else if (isSeq(node) && typeof part === 'number') {
      const item = node.items[part] as Node | undefined;
      if (!item) break;
      at = item;
      node = item;
    } else break;
  }
  if (!at?.range) return undefined;
  const pos = lines.linePos(at.range[0]);
  return { line: pos.line, column: pos.col };
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const firstLine = (s: string): string => s.split('\n')[0]!;
