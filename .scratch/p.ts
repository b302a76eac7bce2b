import { runProgram } from "../runner/run-program";
(async () => {
  const run = await runProgram({ stack: "dev", config: { accountFingerprintKey: "x".repeat(40) } });
  for (const r of run.resources.filter((r) => r.type.startsWith("aws:apigateway/") && /resource|method|restApi:|integration|Response/.test(r.type))) console.log(r.type, r.name, JSON.stringify((r as any).outputs ?? (r as any).state ?? {}).slice(0, 300));
  console.log(Object.keys(run.resources[0]!));
})();
