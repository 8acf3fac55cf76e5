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
  const stack: [unknown, (string | number)[]][] = [[value, []]];
  while (stack.length > 0) {
    const [item, path] = stack.pop()!;
    if (typeof item === 'string') {
      if (!item.isWellFormed()) return path;
    } else if (Array.isArray(item)) {
      item.forEach((child, index) => {
        stack.push([child, [...path, index]]);
      });
    } else if (item !== null && typeof item === 'object' && !Buffer.isBuffer(item)) {
      for (const [key, child] of Object.entries(item)) {
        if (!key.isWellFormed()) return [...path, key];
        stack.push([child, [...path, key]]);
      }
    }
  }
  return undefined;
}

/** The first top-level field of a record whose text (anywhere inside) is not well-formed. */
export function illFormedField(record: object): string | undefined {
  const path = illFormedPath(record);
  return path === undefined ? undefined : String(path[0] ?? '');
}
