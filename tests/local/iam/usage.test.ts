// The usage file while the cloud runs: written in the background (not on the event loop) within
// `flushMs` of a call, one write at a time, and written whole a last time when the cloud stops;
// a background write that a later one overtook never replaces it.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { UsageFile } from "../../../local/iam/usage";
import { UsageRecorder } from "../../../local/iam/usage";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});
function file(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iam-usage-"));
  dirs.push(dir);
  return path.join(dir, "state", "iam-usage.json");
}
const read = (at: string) => JSON.parse(fs.readFileSync(at, "utf8")) as UsageFile;
const calls = (at: string) => read(at).principals.flatMap((p) => p.used.map((u) => `${u.action} x${u.calls}`));
const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe("the IAM usage file", () => {
  it("is written in the background within flushMs of a call, and whole when closed", async () => {
    const at = file();
    const usage = new UsageRecorder(at, true, 20);
    usage.allowed("arn:aws:iam::000000000000:role/r", "fn", "dynamodb:GetItem", "arn:t");
    expect(fs.existsSync(at)).toBe(false);
    await until(() => fs.existsSync(at));
    expect(calls(at)).toEqual(["dynamodb:GetItem x1"]);
    usage.allowed("arn:aws:iam::000000000000:role/r", "fn", "dynamodb:GetItem", "arn:t");
    usage.allowed("arn:aws:iam::000000000000:role/r", "fn", "dynamodb:PutItem", "arn:t");
    await usage.close();
    expect(calls(at)).toEqual(["dynamodb:GetItem x2", "dynamodb:PutItem x1"]);
    expect(fs.readdirSync(path.dirname(at))).toEqual(["iam-usage.json"]);
  });

  it("keeps a synchronous flush's content over a background write that started before it", async () => {
    const at = file();
    const usage = new UsageRecorder(at, true, 1);
    // Hold the background write between its writeFile and its rename, whatever the machine's speed.
    const writeFile = fs.promises.writeFile.bind(fs.promises);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const backgroundStarted = new Promise<void>((resolve) => (started = resolve));
    const spy = vi.spyOn(fs.promises, "writeFile").mockImplementation(async (...args: Parameters<typeof fs.promises.writeFile>) => {
      await writeFile(...args);
      started();
      await held;
    });
    try {
      usage.allowed("p", "fn", "sqs:SendMessage", "arn:q");
      await backgroundStarted; // the background write of one call is in flight
      usage.allowed("p", "fn", "sqs:SendMessage", "arn:q");
      usage.flush(); // two calls, written now
      release();
      // The background write finishes (its temporary file goes) without replacing the newer file.
      await until(() => fs.readdirSync(path.dirname(at)).length === 1);
      expect(fs.readdirSync(path.dirname(at))).toEqual(["iam-usage.json"]);
      expect(calls(at)).toEqual(["sqs:SendMessage x2"]);
    } finally {
      spy.mockRestore();
      await usage.close();
    }
  });
});
