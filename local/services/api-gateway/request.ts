/**
 * Reading an incoming HTTP request the way API Gateway sees it: headers and query string both as
 * last-value and multi-value maps (the proxy event carries both), and the body as text.
 */
import type { IncomingMessage } from "node:http";

/** Names with their last value (`single`) and with every value (`multi`). */
export interface HeaderSets {
  single: Record<string, string>;
  multi: Record<string, string[]>;
}

/** Header names as the client sent them (API Gateway keeps their case). */
export function headersOf(req: IncomingMessage): HeaderSets {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    const value = req.rawHeaders[i + 1]!;
    single[name] = value;
    (multi[name] ??= []).push(value);
  }
  return { single, multi };
}

/** A header's last value, its name matched case-insensitively. */
export function lastHeader(headers: HeaderSets, name: string): string | undefined {
  const lower = name.toLowerCase();
  const key = Object.keys(headers.single).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : headers.single[key];
}

/** The query string parameters, in the same two shapes as the headers. */
export function queryOf(url: URL): HeaderSets {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) {
    single[name] = value;
    (multi[name] ??= []).push(value);
  }
  return { single, multi };
}

/** The whole request body, as UTF-8 text. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
