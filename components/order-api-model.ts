/**
 * The API Gateway request model of `POST /order`, generated from the handler's zod schema so the
 * gateway and the handler refuse exactly the same bodies. API Gateway models are JSON Schema
 * draft 4.
 */
import { z } from "zod";
import { OrderRequest } from "../functions/orders/schemas";

/** The JSON Schema (draft-04) of the `POST /order` body. */
export function orderRequestJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(OrderRequest, { target: "draft-04" }) as Record<string, unknown>;
}

/**
 * The body API Gateway answers when the model refuses a request: JSON, with the validator's
 * message naming the offending fields (e.g. `instance failed to match pattern ... [/items/0/product_id]`).
 */
export const BAD_REQUEST_BODY_TEMPLATE = '{"message":"Invalid order","errors":"$util.escapeJavaScript($context.error.validationErrorString)"}';
