/**
 * What API Gateway checks and answers on `POST /order`: the request model and the bodies of the
 * gateway's own errors.
 *
 * Validation is split by what each layer can report correctly:
 * - the gateway's model (JSON Schema draft-04, generated from the zod `OrderShape`) checks only the
 *   shape: a JSON object with `customer_id` (a string) and `items` (an array of objects, each with
 *   `product_id`, a string, and `quantity`, an integer). A body of the wrong shape never reaches a
 *   Lambda;
 * - the value rules (lengths, patterns, ranges, item counts, unknown fields) are the handler's
 *   (`OrderRequest`), whose 400 names each offending field and why.
 *
 * The gateway cannot name the field itself: "A GatewayResponse mapping template isn't processed by
 * the Velocity Template Language (VTL) engine ... supporting only simple variable substitution"
 * (AWS, x-amazon-apigateway-gateway-responses.responseTemplates). So `$util.escapeJavaScript` is
 * not available, and `$context.error.validationErrorString` is substituted raw: it holds double
 * quotes and the client's own input (`[object has missing required properties (["items"])]`), so
 * inside a JSON string it would make the body invalid JSON. It goes to the stage's access log
 * instead (`ACCESS_LOG_FORMAT` in order-fulfillment.ts); the templates here are static text plus
 * variables that are always JSON-safe (`$context.requestId`, the already quoted
 * `$context.error.messageString`).
 */
import { z } from "zod";
import { OrderShape } from "../../functions/orders/schemas";

/** The largest and smallest safe integers: zod's integer bounds, which are not a rule of ours. */
const SAFE_INTEGER_BOUNDS = new Set([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]);

/**
 * The JSON Schema (draft-04) of the `POST /order` body's shape. Generated as the *input* zod
 * accepts, so unknown fields are allowed (no `additionalProperties`: refusing them is the
 * handler's job, with a message naming them), and without zod's safe-integer bounds on `quantity`.
 */
export function orderRequestJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(OrderShape, {
    target: "draft-04",
    io: "input",
    override: ({ jsonSchema }) => {
      if (jsonSchema.type !== "integer") return;
      if (SAFE_INTEGER_BOUNDS.has(jsonSchema.minimum as number)) delete jsonSchema.minimum;
      if (SAFE_INTEGER_BOUNDS.has(jsonSchema.maximum as number)) delete jsonSchema.maximum;
    },
  }) as Record<string, unknown>;
}

/** What the gateway says about a body of the wrong shape (the model cannot say which field). */
export const BAD_REQUEST_BODY_MESSAGE =
  "must be a JSON object with customer_id (a string) and items (an array of objects, each with product_id, a string, and quantity, an integer)";

/**
 * The body API Gateway answers when the model refuses a request: the handler's format
 * (`{"message":"Invalid order","errors":[{"field","message"}]}`) with one `(body)` error naming the
 * expected shape, and the request id to find the validator's detail in the access log. Static
 * text: valid JSON whatever the body was.
 */
export const BAD_REQUEST_BODY_TEMPLATE = JSON.stringify({
  message: "Invalid order",
  errors: [{ field: "(body)", message: BAD_REQUEST_BODY_MESSAGE }],
  requestId: "$context.requestId",
});

/** The body when a required request parameter is missing (static, like BAD_REQUEST_BODY). */
export const BAD_REQUEST_PARAMETERS_TEMPLATE = JSON.stringify({
  message: "Invalid request: a required request parameter is missing",
  requestId: "$context.requestId",
});

/**
 * Every other gateway-made error (403 missing key, 429 throttled, 5xx): the gateway's own message.
 * `$context.error.messageString` is that message already quoted as a JSON string, so it goes
 * unquoted in the template (AWS's own example: `{ "message": $context.error.messageString }`).
 */
export const DEFAULT_ERROR_TEMPLATE = '{"message":$context.error.messageString,"requestId":"$context.requestId"}';

/** The gateway responses of the order API: response type → `application/json` template. */
export const GATEWAY_RESPONSE_TEMPLATES = {
  BAD_REQUEST_BODY: BAD_REQUEST_BODY_TEMPLATE,
  BAD_REQUEST_PARAMETERS: BAD_REQUEST_PARAMETERS_TEMPLATE,
  DEFAULT_4XX: DEFAULT_ERROR_TEMPLATE,
  DEFAULT_5XX: DEFAULT_ERROR_TEMPLATE,
} as const;
