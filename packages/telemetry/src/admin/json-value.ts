// JSON for admin answers: the xDS model holds Maps, bigints and byte arrays that JSON.stringify
// cannot show as they are.
export function toJsonValue(_key: string, value: unknown): unknown {
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof RegExp) return value.source;
  if (typeof value === 'function') return undefined;
  return value;
}

export function jsonText(value: unknown): string {
  return `${JSON.stringify(value, toJsonValue, 2)}\n`;
}
