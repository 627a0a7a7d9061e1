// Runs firebase-tools' Cloud Storage emulator in library mode on 127.0.0.1:PORT.
// The firebase CLI path (`firebase emulators:start`) needs Java 21 and downloads a rules jar; neither
// works here, so this builds the emulator's Express app directly and skips the rules runtime: every
// request goes through the admin storage layer, as `Authorization: Bearer owner` would.
// Prints "READY 127.0.0.1:PORT" once the JSON API answers; SIGTERM/SIGINT stop it and exit 0.
// Usage: node launch.mjs PORT
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const port = Number.parseInt(process.argv[2] ?? "", 10);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error("usage: node launch.mjs PORT (1-65535)");
  process.exit(2);
}
const host = "127.0.0.1";

// Nothing in here may leave the machine: refuse any socket to a host that is not loopback before it
// resolves or connects, so a forgotten telemetry or update call fails loudly instead of phoning home.
const isLoopback = (h) =>
  h === undefined || h === null || h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h) || /^::ffff:127\./.test(h);
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  const target = typeof first === "object" && first !== null
    ? (first.path ? undefined : first.host)
    : (typeof first === "number" || /^\d+$/.test(String(first))) && typeof args[1] === "string" ? args[1] : undefined;
  if (!isLoopback(target)) {
    const error = new Error(`storage emulator: blocked a connection to non-loopback host '${target}'`);
    console.error(error.message);
    process.nextTick(() => this.destroy(error));
    return this;
  }
  return connect.apply(this, args);
};

// The emulator keeps object bytes in files under os.tmpdir(); each instance gets its own folder so
// parallel instances never share or delete each other's data. firebase-tools' configstore (under
// XDG_CONFIG_HOME) goes there too, so nothing is written into the user's home.
const workDir = mkdtempSync(path.join(os.tmpdir(), `storage-emulator-${port}-`));
process.env.TMPDIR = workDir;
process.env.XDG_CONFIG_HOME = path.join(workDir, "config");
// Usage collection only runs under the firebase CLI or its MCP server; make sure neither is claimed.
delete process.env.IS_FIREBASE_CLI;
delete process.env.IS_FIREBASE_MCP;
process.env.FIREBASE_CLI_DISABLE_UPDATE_CHECK = "true";
process.env.NO_UPDATE_NOTIFIER = "1";

const require = createRequire(import.meta.url);
const { StorageEmulator } = require("firebase-tools/lib/emulator/storage/index.js");
const { createApp } = require("firebase-tools/lib/emulator/storage/server.js");
const { EmulatorRegistry } = require("firebase-tools/lib/emulator/registry.js");

const emulator = new StorageEmulator({
  projectId: "demo-storydream",
  host,
  port,
  // Never loaded: the rules manager is only started by StorageEmulator.start(), which this skips.
  rules: { name: "unused.rules", content: "" },
  auto_download: false,
});
// Object and bucket metadata build their selfLink/mediaLink from the registry's host and port.
EmulatorRegistry.set(emulator.getName(), emulator);
const storageApp = await createApp("demo-storydream", emulator);

const express = require("express");
const app = express();
// The emulator serves some JSON API routes (PATCH, copyTo, rewriteTo, acl) only without the
// /storage/v1 prefix real clients use; strip it so both spellings reach the same routes.
app.use((req, _res, next) => {
  if (req.url.startsWith("/storage/v1/")) {
    req.url = req.url.slice("/storage/v1".length);
  }
  next();
});
app.use(storageApp);

const sockets = new Set();
const server = app.listen(port, host);
server.on("connection", (socket) => {
  sockets.add(socket);
  socket.on("close", () => sockets.delete(socket));
});
server.on("error", (error) => {
  console.error(`storage emulator: cannot listen on ${host}:${port}: ${error.message}`);
  cleanUp();
  process.exit(1);
});

let stopping = false;
function cleanUp() {
  rmSync(workDir, { recursive: true, force: true });
}
process.on("exit", cleanUp);
function stop() {
  if (stopping) return;
  stopping = true;
  server.close(() => {
    cleanUp();
    process.exit(0);
  });
  for (const socket of sockets) socket.destroy();
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// If whatever started us dies without stopping us (a crashed test host), stop rather than linger.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) stop();
}, 1000).unref();

await new Promise((resolve) => server.once("listening", resolve));
for (let attempt = 0; ; attempt++) {
  try {
    const response = await fetch(`http://${host}:${port}/storage/v1/b`, { headers: { authorization: "Bearer owner" } });
    if (response.ok) break;
  } catch {
    // not answering yet
  }
  if (attempt >= 100) {
    console.error(`storage emulator: the JSON API on ${host}:${port} did not answer`);
    cleanUp();
    process.exit(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
}
console.log(`READY ${host}:${port}`);
