/**
 * Validation against containerlab's own JSON schema (labs/containerlab/clab.schema.json, a
 * copy of containerlab's, BSD-3-Clause, Nokia), so that a file `tortie lab up` accepts is
 * one `containerlab deploy` accepts too.
 *
 * The schema says draft-07 but uses a few later keywords (prefixItems) and editor-only
 * ones (markdownDescription): Ajv's draft-07 class with strict mode off ignores those, as
 * containerlab's own validator does. It declares no formats, so ajv-formats is not needed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { TopologyError } from './topology.js';

/** The checkout (or installed package) root: the folder holding package.json named tortie. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'tortie') return dir;
      } catch {
        // not ours; keep going up
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the tortie package root');
    dir = up;
  }
}

export function schemaPath(): string {
  return join(packageRoot(), 'labs', 'containerlab', 'clab.schema.json');
}

const compiled = new Map<string, ValidateFunction>();

export function schemaValidator(path = schemaPath()): ValidateFunction {
  let v = compiled.get(path);
  if (!v) {
    const ajv = new Ajv({ strict: false, allErrors: true });
    v = ajv.compile(JSON.parse(readFileSync(path, 'utf8')) as object);
    compiled.set(path, v);
  }
  return v;
}

function describe(e: ErrorObject): string {
  const at = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '(top)';
  const extra = e.keyword === 'additionalProperties' ? ` "${String((e.params as { additionalProperty?: string }).additionalProperty)}"` : e.keyword === 'enum' ? ` (${((e.params as { allowedValues?: unknown[] }).allowedValues ?? []).slice(0, 8).join(', ')}...)` : '';
  return `${at}: ${e.message ?? e.keyword}${extra}`;
}

/**
 * The schema's complaints about a parsed document, the telling ones first; empty when valid.
 * oneOf/anyOf branches repeat themselves (every link type complains about a bad link), so
 * the wrappers, "must be null" alternatives and branch-only noise are left out: of the
 * unknown properties at one place, only those every branch complained about are kept.
 */
export function schemaErrors(doc: unknown, path?: string): string[] {
  const validate = schemaValidator(path);
  if (validate(doc)) return [];
  const errors = (validate.errors ?? []).filter(
    (e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf' && !(e.keyword === 'type' && (e.params as { type?: string }).type === 'null'),
  );
  const extra = new Map<string, Map<string, number>>();
  for (const e of errors) {
    if (e.keyword !== 'additionalProperties') continue;
    const counts = extra.get(e.instancePath) ?? new Map<string, number>();
    const prop = String((e.params as { additionalProperty?: string }).additionalProperty);
    counts.set(prop, (counts.get(prop) ?? 0) + 1);
    extra.set(e.instancePath, counts);
  }
  const rank: Record<string, number> = { enum: 0, additionalProperties: 1, pattern: 2, const: 2, minItems: 3, maxItems: 3, type: 4, required: 5 };
  const kept = errors.filter((e) => {
    if (e.keyword === 'additionalProperties') {
      const counts = extra.get(e.instancePath)!;
      return counts.get(String((e.params as { additionalProperty?: string }).additionalProperty)) === Math.max(...counts.values());
    }
    // A required property some branch wants, where another branch found an unknown one: noise.
    if (e.keyword === 'required' && extra.has(e.instancePath)) return false;
    return true;
  });
  kept.sort((a, b) => (rank[a.keyword] ?? 6) - (rank[b.keyword] ?? 6));
  return [...new Set((kept.length ? kept : validate.errors ?? []).map(describe))];
}

export function assertSchemaValid(doc: unknown, file: string): void {
  const errors = schemaErrors(doc);
  if (errors.length) throw new TopologyError(`${file}: not a valid containerlab topology: ${errors.slice(0, 3).join('; ')}`);
}
