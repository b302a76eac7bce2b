/**
 * Pulumi's wire form of a secret value, `{ <sig key>: <secret sig>, value }`, as the mock runtime
 * hands inputs over. One implementation for the program runner, the local provisioners and the
 * policy evaluator (which, like the engine's analyzer, sees secrets as plain values).
 */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Replaces every wrapped secret by its value, at any depth. */
export function unwrapSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map(unwrapSecrets) as T;
  if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (record[SIG_KEY] === SECRET_SIG) return unwrapSecrets(record.value) as T;
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrapSecrets(v)])) as T;
  }
  return value;
}
