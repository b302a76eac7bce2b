// The runner's URN recorder (UrnRecorder in runner/urns.ts) against URNs written out by hand as
// the Pulumi engine forms them: `urn:pulumi:<stack>::<project>::<ancestor types joined by $>$<type>::<name>`
// (the root stack's type is never in the chain). A child aliased to `{ parent: X }` gets the URN it
// had under X (X's own full chain), and its descendants inherit that alias with the old chain. A
// stand-in program (vi.mock of components/program) declares the resources; runProgram records them.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { ProgramRun } from "../../runner/run-program";
import { runProgram } from "../../runner/run-program";
import { TEST_SECRET } from "../support/program";

const stand = vi.hoisted(() => ({ program: (): unknown => ({}) }));
vi.mock("../../components/program", () => ({ program: () => stand.program() }));

const URN = "urn:pulumi:dev::utility-serverless::";

class Component extends pulumi.ComponentResource {
  constructor(type: string, name: string, opts?: pulumi.ComponentResourceOptions) {
    super(type, name, {}, opts);
    this.registerOutputs({});
  }
}

let run: ProgramRun;
const identity = (name: string) => {
  const found = run.resources.filter((r) => r.name === name);
  if (found.length !== 1) throw new Error(`${found.length} resources named ${name}`);
  return { urn: found[0]!.urn, aliases: found[0]!.aliases };
};

beforeAll(async () => {
  stand.program = () => {
    // The old home: `legacy` under `root`.
    const root = new Component("test:index:Root", "root");
    const legacy = new Component("test:index:Legacy", "legacy", { parent: root });
    // The new home: `inner` under `outer`, aliased to its old place under `legacy`.
    const outer = new Component("test:index:Outer", "outer");
    const inner = new Component("test:index:Inner", "inner", { parent: outer, aliases: [{ parent: legacy }] });
    new aws.sqs.Queue("leaf", { name: "leaf" }, { parent: inner });
    const deep = new Component("test:index:Deep", "deep", { parent: inner });
    new aws.sqs.Queue("deeper", { name: "deeper" }, { parent: deep });
    // A rename in place, and a resource with no alias at all.
    new aws.sqs.Queue("renamed", { name: "renamed" }, { parent: outer, aliases: [{ name: "old-name" }] });
    new aws.sqs.Queue("plain", { name: "plain" }, { parent: outer });
    new aws.sqs.Queue("top", { name: "top" });
    return {};
  };
  run = await runProgram({ config: TEST_SECRET });
});

describe("UrnRecorder", () => {
  it("a resource's URN carries the type of every ancestor, outermost first; top-level resources only their own", () => {
    expect(identity("top")).toEqual({ urn: `${URN}aws:sqs/queue:Queue::top`, aliases: [] });
    expect(identity("legacy")).toEqual({ urn: `${URN}test:index:Root$test:index:Legacy::legacy`, aliases: [] });
    expect(identity("plain")).toEqual({ urn: `${URN}test:index:Outer$aws:sqs/queue:Queue::plain`, aliases: [] });
  });

  it("a child aliased to { parent: X }: its URN under X, with X's whole type chain", () => {
    expect(identity("inner")).toEqual({
      urn: `${URN}test:index:Outer$test:index:Inner::inner`,
      aliases: [`${URN}test:index:Root$test:index:Legacy$test:index:Inner::inner`],
    });
  });

  it("its child inherits the alias: the URN it had under the old chain", () => {
    expect(identity("leaf")).toEqual({
      urn: `${URN}test:index:Outer$test:index:Inner$aws:sqs/queue:Queue::leaf`,
      aliases: [`${URN}test:index:Root$test:index:Legacy$test:index:Inner$aws:sqs/queue:Queue::leaf`],
    });
  });

  it("and so does every descendant below it", () => {
    expect(identity("deep")).toEqual({
      urn: `${URN}test:index:Outer$test:index:Inner$test:index:Deep::deep`,
      aliases: [`${URN}test:index:Root$test:index:Legacy$test:index:Inner$test:index:Deep::deep`],
    });
    expect(identity("deeper")).toEqual({
      urn: `${URN}test:index:Outer$test:index:Inner$test:index:Deep$aws:sqs/queue:Queue::deeper`,
      aliases: [`${URN}test:index:Root$test:index:Legacy$test:index:Inner$test:index:Deep$aws:sqs/queue:Queue::deeper`],
    });
  });

  it("an alias { name } keeps the parent: the old name under the same chain", () => {
    expect(identity("renamed")).toEqual({
      urn: `${URN}test:index:Outer$aws:sqs/queue:Queue::renamed`,
      aliases: [`${URN}test:index:Outer$aws:sqs/queue:Queue::old-name`],
    });
  });
});
