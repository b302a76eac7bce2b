/**
 * Deployed stacks are updated in place: a resource that moves under a new component keeps its old
 * URN as an alias, so `pulumi up` matches it to what is deployed instead of deleting it and creating
 * a new one (a replaced queue or table loses its messages or items). `tests/components/urns.test.ts`
 * checks that every URN a stack had before a move is still reachable.
 */
import type * as pulumi from "@pulumi/pulumi";

/**
 * Options for a child of `component` that was declared directly under `formerParent` before
 * `component` existed: parented to the component, aliased to its old place. Without a former
 * parent (a new component), just the parent.
 */
export function childOf(component: pulumi.Resource, formerParent?: pulumi.Resource): pulumi.CustomResourceOptions {
  return formerParent ? { parent: component, aliases: [{ parent: formerParent }] } : { parent: component };
}
