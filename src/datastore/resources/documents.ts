/**
 * Resource files as users write them: one or more YAML documents separated by `---`, JSON,
 * or a `kind: List` (also `IPPoolList` etc., what `get -o yaml` prints) whose `items` are
 * resources. Syntax errors name the line and column; each document remembers where it came
 * from, so that later errors can say `document 2` (or `document 1, item 3`).
 */
import { parseAllDocuments } from 'yaml';
import { UserError } from '../../common/errors.js';

export interface SourceDocument {
  /** The parsed value (not yet validated). */
  value: unknown;
  /** 1-based number of the YAML document in the file. */
  document: number;
  /** 1-based position in a List's items, if it came from one. */
  item?: number;
  /** 1-based line the document (or item) starts at. */
  line: number;
  /** `document 2` or `document 1, item 3`, for messages. */
  where: string;
}

/** Malformed YAML/JSON: the message has the source, line and column. */
export class DocumentSyntaxError extends UserError {
  constructor(
    readonly source: string,
    readonly line: number,
    readonly column: number,
    readonly detail: string,
  ) {
    super(`${source}, line ${line}, column ${column}: ${detail}`);
    this.name = 'DocumentSyntaxError';
  }
}

/** Parses every document of `text`; `source` names it in messages (a file name or "stdin"). */
export function parseDocuments(text: string, source: string): SourceDocument[] {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  const lineOf = (offset: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };

  const out: SourceDocument[] = [];
  const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true });
  // A YAML stream with nothing in it parses to an empty list or an EmptyStream.
  if (!Array.isArray(docs)) return out;
  docs.forEach((doc, i) => {
    const number = i + 1;
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0];
      // The library's message repeats the position and quotes the line; keep the first clause.
      const detail = err.message.split(' at line ')[0].replace(/:\s*$/, '');
      throw new DocumentSyntaxError(source, pos?.line ?? lineOf(err.pos[0]), pos?.col ?? 1, `malformed YAML in document ${number}: ${detail}`);
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return; // an empty document, e.g. a trailing ---
    const contents = doc.contents as { range?: [number, number, number] } | null;
    const line = lineOf(contents?.range?.[0] ?? doc.range[0]);
    const listItems = listItemsOf(value);
    if (listItems) {
      const nodes = ((doc.contents as { get?: (k: string, keep: boolean) => unknown } | null)?.get?.('items', true) as { items?: { range?: [number, number, number] }[] } | undefined)?.items;
      listItems.forEach((item, j) => {
        const range = nodes?.[j]?.range;
        out.push({ value: item, document: number, item: j + 1, line: range ? lineOf(range[0]) : line, where: `document ${number}, item ${j + 1}` });
      });
      return;
    }
    if (Array.isArray(value)) {
      value.forEach((item, j) => out.push({ value: item, document: number, item: j + 1, line, where: `document ${number}, item ${j + 1}` }));
      return;
    }
    out.push({ value, document: number, line, where: `document ${number}` });
  });
  return out;
}

/** The items of a `kind: List` / `kind: <Kind>List`, or undefined if it is not a list. */
function listItemsOf(value: unknown): unknown[] | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.kind !== 'string' || !/List$/.test(v.kind)) return undefined;
  if (v.items === undefined || v.items === null) return [];
  if (!Array.isArray(v.items)) return undefined; // left to validation, which names the field
  return v.items;
}
