/**
 * The kernel's CPU accounting of a process tree (bench/process-cpu.ts), which the function profile
 * bench divides by orders and transactions: a child's busy loop counts while it runs and after it
 * has exited (reaped, in its parent's cutime), a sleeping child adds next to nothing, and an unknown
 * pid is no CPU.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { processTreeCpuMs } from "../../bench/process-cpu";

/**
 * A parent Node process that spawns one child spinning until it has used `cpuMs` of CPU (by its own
 * `process.cpuUsage()`, so a loaded machine only makes it take longer), then waits to be killed.
 */
function parentOfSpinner(cpuMs: number) {
  const child = `const used = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; }; while (used() < ${cpuMs});`;
  const parent = `const { spawn } = require("node:child_process");
    const c = spawn(process.execPath, ["-e", ${JSON.stringify(child)}], { stdio: "ignore" });
    c.on("exit", () => console.log("child exited"));
    setInterval(() => undefined, 1000);`;
  return spawn(process.execPath, ["-e", parent], { stdio: ["ignore", "pipe", "inherit"] });
}

describe("processTreeCpuMs", () => {
  it("counts a child's CPU under its parent, before and after the child exits", async () => {
    const parent = parentOfSpinner(400);
    try {
      await once(parent.stdout!, "data"); // "child exited": its CPU is now in the parent's cutime
      const afterExit = processTreeCpuMs(parent.pid!);
      // The child used 400 ms of CPU by its own count; the kernel's is in 10 ms ticks.
      expect(afterExit).toBeGreaterThanOrEqual(390);
      await new Promise((r) => setTimeout(r, 300));
      // Idle: the parent's timer adds at most a tick or two.
      expect(processTreeCpuMs(parent.pid!) - afterExit).toBeLessThanOrEqual(30);
    } finally {
      parent.kill();
    }
  });

  it("is 0 for a process that does not exist", () => {
    expect(processTreeCpuMs(2 ** 22 + 12345)).toBe(0);
  });
});
