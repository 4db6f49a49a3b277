/**
 * Selector syntax check (Calico's label selector language: `role == "db" && has(zone)`,
 * `all()`, `env in {"a","b"}`, `!has(x)`, `k starts with "p"`). Shallow on purpose: it catches
 * unbalanced quotes, brackets and stray characters. The full parser (felix's) replaces the
 * body of `validateSelector` later; callers only rely on its contract.
 */

/** Returns undefined if `selector` is well-formed, else what is wrong with it (one phrase). */
export function validateSelector(selector: string): string | undefined {
  const stack: string[] = [];
  let expectOperand = true;
  let i = 0;
  const s = selector;
  while (i < s.length) {
    const c = s[i];
    if (c === ' ' || c === '\t' || c === '\n') {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const end = s.indexOf(c, i + 1);
      if (end < 0) return `unterminated string starting at column ${i + 1}`;
      i = end + 1;
      expectOperand = false;
      continue;
    }
    if (c === '(' || c === '{') {
      stack.push(c === '(' ? ')' : '}');
      i++;
      expectOperand = true;
      continue;
    }
    if (c === ')' || c === '}') {
      const want = stack.pop();
      if (want !== c) return `unbalanced '${c}' at column ${i + 1}`;
      i++;
      expectOperand = false;
      continue;
    }
    const two = s.slice(i, i + 2);
    if (two === '&&' || two === '||' || two === '==' || two === '!=') {
      if (expectOperand && (two === '&&' || two === '||')) return `'${two}' at column ${i + 1} has nothing on its left`;
      i += 2;
      expectOperand = true;
      continue;
    }
    if (c === '!' || c === ',') {
      i++;
      expectOperand = true;
      continue;
    }
    const word = /^[A-Za-z0-9_./-]+/.exec(s.slice(i));
    if (word) {
      i += word[0].length;
      expectOperand = ['in', 'not', 'has', 'all', 'global', 'starts', 'ends', 'with', 'contains'].includes(word[0]);
      continue;
    }
    return `unexpected '${c}' at column ${i + 1}`;
  }
  if (stack.length > 0) return `missing '${stack[stack.length - 1]}'`;
  if (expectOperand && s.trim() !== '' && /(&&|\|\||==|!=|!)\s*$/.test(s)) return 'ends with an operator';
  return undefined;
}
