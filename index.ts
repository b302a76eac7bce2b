/**
 * The Pulumi program: one stack (`dev`, `staging`) deploys both units. `pulumi up` runs this file;
 * the tests, the policy runner and the local cloud run `program()` under the mock runtime.
 */
import { loadStackSettings } from "./components/lib/settings";
import { program } from "./components/program";

export = async () => program(loadStackSettings());
