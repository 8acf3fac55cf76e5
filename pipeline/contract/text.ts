/**
 * Text rules shared by every way into msgxc. A string that is not well-formed UTF-16 (a lone surrogate,
 * `"\ud800"` in JSON) has no UTF-8 form: encoded it becomes bytes other languages' Avro decoders refuse. The
 * facade refuses it in bodies, the ingest contract in records, and the serde will not encode it at all.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point of the check
export const controlCharacters = /[\u0000-\u001f\u007f]/;

export const isWellFormed = (text: string): boolean => text.isWellFormed();

/**
 * The path of the first string inside `value` (keys included) that is not well-formed, `[]` for `value`
 * itself, or undefined when every string is. Iterative, so a deep value cannot overflow the stack.
 */
export function illFormedPath(value: unknown): (string | number)[] | undefined {
  // Every request and every encoded record passes here: the common case walks without building paths.
  if (allWellFormed(value)) return undefined;
  // Each step links to its parent rather than copying the path, so a deep value costs linear time.
  type Step = { key: string | number; parent: Step | null };
  const pathOf = (step: Step | null) => {
    const path: (string | number)[] = [];
    for (let at = step; at !== null; at = at.parent) path.push(at.key);
    return path.reverse();
  };
  const stack: [unknown, Step | null][] = [[value, null]];
  while (stack.length > 0) {
    const [item, step] = stack.pop()!;
    if (typeof item === 'string') {
      if (!item.isWellFormed()) return pathOf(step);
    } else if (Array.isArray(item)) {
      item.forEach((child, index) => {
        stack.push([child, { key: index, parent: step }]);
      });
    } else if (item !== null && typeof item === 'object' && !Buffer.isBuffer(item)) {
      for (const [key, child] of Object.entries(item)) {
        if (!key.isWellFormed()) return pathOf({ key, parent: step });
        stack.push([child, { key, parent: step }]);
      }
    }
  }
  return undefined;
}

function allWellFormed(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'string') {
      if (!item.isWellFormed()) return false;
    } else if (Array.isArray(item)) {
      for (const child of item) stack.push(child);
    } else if (item !== null && typeof item === 'object' && !Buffer.isBuffer(item)) {
      for (const key in item) {
        if (!Object.hasOwn(item, key)) continue;
        if (!key.isWellFormed()) return false;
        stack.push((item as Record<string, unknown>)[key]);
      }
    }
  }
  return true;
}

/** The first top-level field of a record whose text (anywhere inside) is not well-formed. */
export function illFormedField(record: object): string | undefined {
  const path = illFormedPath(record);
  return path === undefined ? undefined : String(path[0] ?? '');
}
