// Lint: the recommended JS and type-aware TypeScript rules, over every source directory, and the
// boundaries between the folders (README, "Layout"): each folder imports only what it may depend on.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** A top-level folder of the repository, reached by a relative import from any depth. */
const folder = (name) => `^(\\./)?(\\.\\./)+${name}(/|$)`;

/**
 * Why each folder may not import another. `tests/delivery/boundaries.test.ts` lints an offending
 * import in each folder and expects exactly these messages.
 */
const BOUNDARY = {
  pulumi: "functions/ runs in Lambda: it never imports the Pulumi SDK (infrastructure lives in components/).",
  functionsReach: "functions/ runs in Lambda: it imports only functions/ and npm packages.",
  componentsReach: "components/ is the infrastructure: it may import functions/ (definitions) but never the local cloud, the runner, the policies, scripts, benchmarks or tests.",
  runnerReach: "runner/ is neutral (it runs the program under the mock runtime for everyone): it imports components/ and functions/ only.",
  packReach: "The policy pack stands alone (the Pulumi CLI loads policies/ on its own): it imports nothing outside policies/.",
  policiesReach: "policies/ may use the runner (npm run policy) but never components/, functions/ or the local cloud: policies judge what the program declares, not how it is built.",
  localReach: "local/ is the local cloud: it may import runner/, components/ and functions/, never the policies, scripts, benchmarks or tests.",
  toolsReach: "scripts/ and bench/ never import tests/.",
  examplesReach: "examples/ are clients of the deployed API, as a user would write them: they import nothing of the repository.",
};
/** `no-restricted-imports` with the given folders refused, each with its reason. */
const refuse = (message, ...folders) => ["error", { patterns: folders.map((name) => ({ regex: folder(name), message })) }];

export default tseslint.config(
  { ignores: ["node_modules/**", ".build/**", ".local/**", "coverage/**", ".stryker-tmp/**", "reports/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      eqeqeq: ["error", "always"],
      "no-console": "off",
    },
  },
  {
    files: ["functions/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [
          { regex: "^@pulumi/", message: BOUNDARY.pulumi },
          ...["components", "runner", "local", "policies", "scripts", "bench", "tests"].map((name) => ({ regex: folder(name), message: BOUNDARY.functionsReach })),
        ],
      }],
    },
  },
  { files: ["components/**/*.ts"], rules: { "no-restricted-imports": refuse(BOUNDARY.componentsReach, "runner", "local", "policies", "scripts", "bench", "tests") } },
  { files: ["runner/**/*.ts"], rules: { "no-restricted-imports": refuse(BOUNDARY.runnerReach, "local", "policies", "scripts", "bench", "tests") } },
  {
    files: ["policies/**/*.ts"],
    ignores: ["policies/run.ts", "policies/evaluate.ts"],
    rules: { "no-restricted-imports": refuse(BOUNDARY.packReach, "runner", "components", "functions", "local", "scripts", "bench", "tests") },
  },
  {
    files: ["policies/run.ts", "policies/evaluate.ts"],
    rules: { "no-restricted-imports": refuse(BOUNDARY.policiesReach, "components", "functions", "local", "scripts", "bench", "tests") },
  },
  { files: ["local/**/*.ts", "local/**/*.cjs"], rules: { "no-restricted-imports": refuse(BOUNDARY.localReach, "policies", "scripts", "bench", "tests") } },
  { files: ["scripts/**/*.ts", "bench/**/*.ts"], rules: { "no-restricted-imports": refuse(BOUNDARY.toolsReach, "tests") } },
  {
    files: ["examples/**/*.ts", "examples/**/*.js"],
    rules: { "no-restricted-imports": refuse(BOUNDARY.examplesReach, "components", "functions", "runner", "local", "policies", "scripts", "bench", "tests") },
  },
  {
    // The example order page's script runs in a browser (examples/order-page/).
    files: ["examples/**/*.js"],
    languageOptions: {
      sourceType: "module",
      globals: { document: "readonly", fetch: "readonly", crypto: "readonly", HTMLInputElement: "readonly", HTMLElement: "readonly", console: "readonly" },
    },
  },
  {
    // Plain CommonJS scripts run by Node directly (the local Lambda worker).
    files: ["**/*.cjs"],
    languageOptions: {
      sourceType: "commonjs",
      globals: { require: "readonly", process: "readonly", module: "writable", __dirname: "readonly", console: "readonly" },
    },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
