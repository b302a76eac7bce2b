// Deployed stacks update in place: every URN a stack had before a refactor still names a resource
// of the program, as its own URN or through an alias (a URN that matches nothing is a delete and a
// create: a replaced queue or table loses its messages or items). The fixtures are the URNs of both
// stacks before the layout change (issue 10); `npm run graph:diff -- <rev>` does the same check,
// with inputs, against any revision.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { runStack } from "../support/program";

for (const stack of ["dev", "staging"]) {
  describe(`${stack}: URNs of deployed stacks`, () => {
    it("every URN from before the layout change is a resource's URN or one of its aliases", async () => {
      const before = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", `urns-${stack}.json`), "utf8")) as string[];
      const run = await runStack({ stack });
      const reachable = new Set(run.resources.flatMap((r) => [r.urn, ...r.aliases]));
      expect(before.length).toBe(131);
      expect(before.filter((urn) => !reachable.has(urn))).toEqual([]);
    }, 60_000);
  });
}
