/** Test helpers over `runProgram`: run a stack once and look resources up by type and name. */
import type { DeclaredResource, ProgramRun, RunProgramOptions } from "../../runner/run-program";
import { runProgram } from "../../runner/run-program";

/** A fixed secret for tests (the one required setting without a default). */
export const TEST_SECRET = { accountFingerprintKey: "test-fingerprint-key-0123456789abcdef0123" };

export async function runStack(options: RunProgramOptions = {}): Promise<ProgramRun & { find: typeof find; all: typeof all }> {
  const run = await runProgram({ ...options, config: { ...TEST_SECRET, ...options.config } });
  function all(type: string): DeclaredResource[] {
    return run.resources.filter((r) => r.type === type);
  }
  function find(type: string, name: string): DeclaredResource {
    const found = run.resources.find((r) => r.type === type && r.name === name);
    if (!found) throw new Error(`no ${type} named ${name}; have: ${all(type).map((r) => r.name).join(", ")}`);
    return found;
  }
  return { ...run, find, all };
}

/** Parses a JSON policy input. */
export function policyOf(resource: DeclaredResource, field = "policy"): { Version: string; Statement: Record<string, unknown>[] } {
  return JSON.parse(resource.inputs[field] as string);
}
