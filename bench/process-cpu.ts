/**
 * CPU a process and everything it started have used, from the kernel's own accounting (Linux's
 * `/proc/<pid>/stat`). A V8 CPU profile cannot give this figure on a busy machine: its sampling
 * interval is wall time, so a thread that waits for a core while it is runnable has that wait
 * counted as CPU to the frame it was in. The kernel counts only time on a core.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";

/** Clock ticks per second of `/proc`'s CPU fields (`getconf CLK_TCK`, 100 on Linux). */
let ticksPerSecond: number | undefined;

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime, in ticks: its own CPU and that of its children it has reaped. */
  ticks: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined; // exited between the listing and the read
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after its last ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // After the name: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17); index = field - 3.
  const field = (n: number) => Number(fields[n - 3]);
  return { pid, ppid: field(4), ticks: field(14) + field(15) + field(16) + field(17) };
}

/**
 * Milliseconds of CPU used so far by `rootPid` and its descendants, live or exited: a child that has
 * exited and been reaped counts in its parent's `cutime`/`cstime` (Node reaps the processes it
 * spawns). Linux only; throws elsewhere, naming why.
 */
export function processTreeCpuMs(rootPid: number): number {
  if (!fs.existsSync("/proc/self/stat")) throw new Error("processTreeCpuMs reads /proc/<pid>/stat: Linux only");
  ticksPerSecond ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  const stats = fs
    .readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .flatMap((name) => readStat(Number(name)) ?? []);
  const children = new Map<number, ProcStat[]>();
  for (const stat of stats) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), stat]);
  let ticks = 0;
  const pending = stats.filter((s) => s.pid === rootPid);
  for (let stat = pending.pop(); stat; stat = pending.pop()) {
    ticks += stat.ticks;
    pending.push(...(children.get(stat.pid) ?? []));
  }
  return (ticks * 1000) / ticksPerSecond;
}
