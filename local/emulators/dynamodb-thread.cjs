// dynalite on a thread of its own (local/emulators/dynamodb.ts starts it): every DynamoDB call a
// function makes is parsed, validated and answered here, off the local cloud's main event loop,
// which then only forwards bytes. Plain CommonJS so the thread needs no TypeScript loader.
"use strict";
const { parentPort, workerData } = require("node:worker_threads");
const dynalite = require("dynalite");

const settleMs = workerData.tableStateMs;
const server = dynalite({ createTableMs: settleMs, updateTableMs: settleMs, deleteTableMs: settleMs });
server.once("error", (err) => parentPort.postMessage({ error: err.message }));
server.listen(workerData.port, "127.0.0.1", () => parentPort.postMessage({ port: server.address().port }));
parentPort.on("message", (message) => {
  if (message !== "stop") return;
  // SDK clients keep connections alive; without this, close() waits for them to time out.
  server.closeAllConnections();
  server.close(() => parentPort.close());
});
