import { expect } from 'chai';
import { DocumentSyntaxError, parseDocuments } from '../../../src/datastore/resources/documents.js';

describe('resources: reading documents', () => {
  it('splits YAML documents, skips empty ones and remembers their numbers and lines', () => {
    const docs = parseDocuments('kind: A\n---\n---\nkind: B\n', 'f.yaml');
    expect(docs.map((d) => [d.value, d.where, d.line])).to.deep.equal([
      [{ kind: 'A' }, 'document 1', 1],
      [{ kind: 'B' }, 'document 3', 4],
    ]);
  });

  it('unpacks kind: List and <Kind>List items', () => {
    const docs = parseDocuments('kind: IPPoolList\nitems:\n  - kind: IPPool\n  - kind: IPPool\n', 'f.yaml');
    expect(docs.map((d) => d.where)).to.deep.equal(['document 1, item 1', 'document 1, item 2']);
    expect(docs[1].line).to.equal(4);
  });

  it('reads JSON', () => {
    const docs = parseDocuments('{"kind": "IPPool", "metadata": {"name": "a"}}', 'f.json');
    expect(docs[0].value).to.deep.equal({ kind: 'IPPool', metadata: { name: 'a' } });
  });

  it('reports malformed YAML with source, line and column, on one line', () => {
    let err: unknown;
    try {
      parseDocuments('kind: A\n---\nkind: B\nspec: [1, 2\nx: 1\n', 'bad.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(DocumentSyntaxError);
    const e = err as DocumentSyntaxError;
    expect(e.message).to.match(/^bad\.yaml, line 5, column 1: malformed YAML in document 2: /);
    expect(e.message).not.to.include('\n');
  });

  it('reports a key given twice', () => {
    expect(() => parseDocuments('a: 1\na: 2\n', 'dup.yaml')).to.throw(DocumentSyntaxError, /dup\.yaml, line 2, column 1: .*unique/);
  });
});
