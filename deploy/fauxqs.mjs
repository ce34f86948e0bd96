// Starts the fauxqs SQS emulator as dev.sh and the test suite run it (with fauxqs-loopback.mjs
// preloaded). fauxqs's own cli.js calls startFauxqs({ logger: true }), and an explicit option wins
// over the FAUXQS_LOGGER variable: every request was logged as two JSON lines on stdout, which
// cost the emulator CPU on each call. Here the variable decides (off unless FAUXQS_LOGGER=true);
// FAUXQS_PORT and the other FAUXQS_* variables are read by startFauxqs itself. FAUXQS_DIST names
// fauxqs's dist/ folder where it is not node_modules/fauxqs beside this file: docker-compose.yml
// runs this file in fauxqs's own image (/app/dist/).
//
// Persistence, as fauxqs's server.js (its Docker image) reads it: FAUXQS_DATA_DIR together with
// FAUXQS_PERSISTENCE=true keeps queues and messages (ready, delayed and in flight, with their
// visibility deadlines) in <dir>/fauxqs.db, SQLite in WAL mode, every change written through before
// the request is answered. A stop or SIGKILL mid-write leaves the database consistent (SQLite's
// atomic commit); without the two variables everything is in memory, as the test suite runs it.
import { pathToFileURL } from "node:url";

const dist = process.env.FAUXQS_DIST
  ? pathToFileURL(process.env.FAUXQS_DIST.replace(/\/?$/, "/"))
  : new URL("../node_modules/fauxqs/dist/", import.meta.url);
const { startFauxqs } = await import(new URL("app.js", dist).href);
const { PersistenceManager } = await import(new URL("persistence.js", dist).href);

// fauxqs 2.4.1 makes a message visible again (ChangeMessageVisibility to 0, which the worker sends
// to release a message) by writing NULL into sqs_messages.approximate_receive_count, a NOT NULL
// column: the request fails with a 500 after the message has left the in-flight set but before it
// is back among the visible ones, so it is lost until the next restart. This writes only what a
// visible message lacks (no receipt handle, no deadline) and keeps its receive count.
PersistenceManager.prototype.updateMessageReady = function (messageId) {
  this.markReady ??= this.db.prepare(
    "UPDATE sqs_messages SET receipt_handle = NULL, visibility_deadline = NULL WHERE message_id = ?");
  this.markReady.run(messageId);
};

const dataDir = process.env.FAUXQS_PERSISTENCE === "true" ? process.env.FAUXQS_DATA_DIR : undefined;
const server = await startFauxqs({
  logger: process.env.FAUXQS_LOGGER === "true",
  ...(dataDir ? { dataDir } : {}),
});

// TERM or INT: close the database (a checkpoint of its write-ahead log) and exit; requests still
// open (a long poll) get 2 s. Without this Node exits at once, which loses nothing either.
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.once(signal, () => {
    setTimeout(() => process.exit(0), 2000).unref();
    server.stop().then(() => process.exit(0), () => process.exit(1));
  });
}
