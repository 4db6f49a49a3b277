import { expect } from 'chai';
import { checkIfName, checkNetnsName, InvalidNameError } from '../../../src/kernel/names.js';
import { formatCommand, oneLine } from '../../../src/kernel/exec.js';

describe('kernel/names', () => {
  it('accepts interface names of up to 15 characters', () => {
    expect(checkIfName('eth0')).to.equal('eth0');
    expect(checkIfName('a'.repeat(15))).to.equal('a'.repeat(15));
  });

  it('rejects bad interface names with one line naming the name and where', () => {
    expect(() => checkIfName('a'.repeat(16), 'veth in netns "x"')).to.throw(
      InvalidNameError,
      `veth in netns "x": interface name "${'a'.repeat(16)}" is 16 characters long; Linux allows at most 15`,
    );
    expect(() => checkIfName('')).to.throw(InvalidNameError, 'empty');
    expect(() => checkIfName('eth0:1')).to.throw(InvalidNameError, "contains '/', ':' or whitespace");
    expect(() => checkIfName('a b')).to.throw(InvalidNameError);
    expect(() => checkIfName('..')).to.throw(InvalidNameError);
  });

  it('rejects namespace names that are not plain file names', () => {
    expect(checkNetnsName('tt1ab2c-h1')).to.equal('tt1ab2c-h1');
    expect(() => checkNetnsName('../etc')).to.throw(InvalidNameError, 'may only contain');
    expect(() => checkNetnsName('-n')).to.throw(InvalidNameError);
    expect(() => checkNetnsName('')).to.throw(InvalidNameError, 'empty');
  });
});

describe('kernel/exec formatting', () => {
  it('quotes arguments a shell would split', () => {
    expect(formatCommand('ip', ['-n', 'a', 'addr', 'add', "x y'z"])).to.equal(`ip -n a addr add 'x y'\\''z'`);
  });
  it('folds tool output to one line', () => {
    expect(oneLine('Error: a\n\n  b \n')).to.equal('Error: a; b');
  });
});
