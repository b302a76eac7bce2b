// A Stryker ignorer (stryker.config.mjs, `ignorers: ["logging"]`): no mutants in the arguments of
// a logger call (`logger.info("...", {...})`, `console.error(...)`) nor in `logger.appendKeys(...)`.
// What a log line says is not behaviour the suite pins (a reworded message is not a bug), and each
// such mutant would otherwise be listed as a survivor. Stryker's documented way to skip them:
// https://stryker-mutator.io/docs/stryker-js/disable-mutants/#using-an-ignore-plugin
import { PluginKind, declareValuePlugin } from "@stryker-mutator/api/plugin";

const LOGGER_OBJECTS = new Set(["logger", "console"]);
const LOGGER_METHODS = new Set(["debug", "info", "warn", "error", "log", "appendKeys"]);

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, "logging", {
    shouldIgnore(path) {
      if (!path.isExpressionStatement()) return undefined;
      const call = path.node.expression;
      if (call.type !== "CallExpression" || call.callee.type !== "MemberExpression") return undefined;
      const { object, property } = call.callee;
      if (object.type === "Identifier" && LOGGER_OBJECTS.has(object.name) && property.type === "Identifier" && LOGGER_METHODS.has(property.name)) {
        return "a log line's wording and keys are not behaviour the tests pin";
      }
      return undefined;
    },
  }),
];
