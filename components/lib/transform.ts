/**
 * The one `transform` convention of every component (SST's): a component's args take
 * `transform?: { <child>?: Transform<ChildArgs> }`, and each function adjusts that child's args just
 * before the child is created. It is the escape hatch for what the component does not expose
 * (tags, reserved concurrency, ...), so the component's own args stay small.
 */

/**
 * Adjusts a child resource's args in place before it is created.
 * @example (args) => { args.tags = { team: "orders" }; }
 */
export type Transform<Args> = (args: Args) => void;

/** Applies `transform` (when given) to `args` and returns them. */
export function transformed<Args>(args: Args, transform: Transform<Args> | undefined): Args {
  transform?.(args);
  return args;
}
