/** An application payload travels as a JSON string; clients get it as JSON, or as the string when it is not JSON. */
export function appData(data: string | null): unknown {
  if (data === null) return null;
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}
