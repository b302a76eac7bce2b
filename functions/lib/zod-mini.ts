/**
 * The validation library of what runs in Lambda: `zod/mini` with zod's English messages, so every
 * default message reads exactly as full zod's (`Invalid input: expected string, received number`)
 * and the 400s and dead-letter reasons the tests pin stay the same.
 *
 * Why not full zod: its schemas carry every method and `import { z } from "zod"` keeps every locale
 * (444 KiB of a 974 KiB bundle, about 60 ms of module load); `zod/mini` is functions over the same
 * core, so esbuild keeps only the checks a schema uses (about 20 KiB). The Pulumi program
 * (`components/`) keeps full zod: it reads these schemas through zod's core (`z.toJSONSchema`,
 * `z.input`), which both builds share.
 *
 * Import it as a namespace (`import * as z from "../lib/zod-mini"`): a namespace re-exported as a
 * value (`export { z }`) would keep the whole library in every bundle.
 */
import { config } from "zod/mini";
import en from "zod/v4/locales/en.js";

// zod/mini loads no locale (its default message is "Invalid input"); full zod loads English the
// same way, on its first schema.
config(en());

export * from "zod/mini";
export type { $ZodError, $ZodType } from "zod/v4/core";
