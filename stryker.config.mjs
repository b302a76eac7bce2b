// @ts-check
import process from "node:process";

/**
 * Mutation testing (`npm run mutation`, docs/testing.md): Stryker changes the code of the Lambda
 * functions (handlers, the typed-function runtime, redaction) and of the local cloud's runtime (SQS
 * poller, function host) one small change ("mutant") at a time, and runs the tests that cover it: a
 * mutant no test notices is a test gap, or an equivalent change listed in docs/testing.md.
 *
 * - Incremental: the result of every mutant is kept in reports/mutation/incremental.json
 *   (gitignored), so a rerun retests only the mutants of changed code and of changed tests.
 *   `npm run mutation -- --force` retests everything.
 * - One folder at a time: `npm run mutation -- --mutate "local/runtime/**\/*.ts"`.
 * - Concurrency 2: the machine is shared, and each test process starts its own emulators.
 *
 * - Reports in reports/mutation/ (gitignored), or in `MUTATION_REPORT_DIR` when set (two folder
 *   runs side by side: `MUTATION_REPORT_DIR=reports/mutation/orders npm run mutation -- --mutate ...`).
 *
 * @type {import("@stryker-mutator/api/core").PartialStrykerOptions}
 */
const reportDir = process.env.MUTATION_REPORT_DIR ?? "reports/mutation";

export default {
  packageManager: "npm",
  testRunner: "vitest",
  vitest: { configFile: process.env.MUTATION_VITEST_CONFIG ?? "vitest.mutation.config.mts", related: true, pool: "forks" },
  checkers: ["typescript"],
  // The checker's program is the mutated code and what it imports (tsconfig.mutation.json): against
  // the whole program (Pulumi components, tests, scripts) the checker held 2.7 GB, used a core for
  // the whole run and fed the test runner more slowly than it ran the tests.
  tsconfigFile: "tsconfig.mutation.json",
  // Type-check each mutant against the files it can reach only, not the whole program.
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  // The issue's scope (issue 14, docs/testing.md "What is mutated"): the handlers, the typed-function
  // runtime with the modules its behaviour is made of, redaction, and the local cloud's runtime
  // (poller, function host and its environments, the account concurrency they share). Left out, because they are not
  // that code and each would only add run time: schemas and definitions (declarations, checked
  // whole by the schema, fuzz and infrastructure tests), functions/lib/telemetry/ (span export,
  // tested by its own suite), functions/lib/aws/ (SDK client construction), zod-mini.ts (a
  // re-export), functions/transactions/publisher.ts (the bus's client: it runs in the tx CLI, the
  // soak and the tests, never in a Lambda function; measured once at 45.5%, docs/testing.md), and
  // local/runtime's status endpoint and log-line batching.
  mutate: [
    "functions/orders/**/*.ts",
    "functions/transactions/**/*.ts",
    "!functions/**/definition.ts",
    "!functions/**/schemas.ts",
    "!functions/transactions/publisher.ts",
    "functions/lib/{define,sqs-handler,task-handler,api-handler,observability,links,parameters,cors,validation-issues,metrics}.ts",
    "local/runtime/{sqs-poller,function-host,function-host-errors,account-concurrency,lambda-environment}.ts",
  ],
  plugins: ["@stryker-mutator/*", "./tests/support/stryker-ignore-logging.mjs"],
  // Log lines' wording is not behaviour the tests pin (tests/support/stryker-ignore-logging.mjs).
  ignorers: ["logging"],
  coverageAnalysis: "perTest",
  concurrency: 2,
  // A mutant that loops forever (the poller's `while (!stopping)`, an account wait) costs 1.5 times
  // its tests' own time plus this, and a fresh test runner: the runtime's runs (docs/testing.md) had
  // about one mutant in seven time out, each 7 s cheaper at 3 s than at 10 s.
  timeoutMS: 3_000,
  timeoutFactor: 1.5,
  incremental: true,
  incrementalFile: `${reportDir}/incremental.json`,
  reporters: ["clear-text", "html", "json", "progress"],
  htmlReporter: { fileName: `${reportDir}/index.html` },
  jsonReporter: { fileName: `${reportDir}/mutation.json` },
  clearTextReporter: { allowColor: false, reportScoreTable: true, reportMutants: true, reportTests: false },
  tempDirName: `.stryker-tmp/${reportDir.replace(/\W+/g, "-")}`,
  cleanTempDir: "always",
  // Not copied into the sandbox: built bundles, local cloud state, reports, the git directory.
  ignorePatterns: [".build", ".local", "reports", "coverage", ".git"],
  thresholds: { high: 90, low: 85, break: null },
};
