// Starts the fauxqs SQS emulator as dev.sh and the test suite run it (with fauxqs-loopback.mjs
// preloaded). fauxqs's own cli.js calls startFauxqs({ logger: true }), and an explicit option wins
// over the FAUXQS_LOGGER variable: every request was logged as two JSON lines on stdout, which
// cost the emulator CPU on each call. Here the variable decides (off unless FAUXQS_LOGGER=true);
// FAUXQS_PORT and the other FAUXQS_* variables are read by startFauxqs itself.
import { startFauxqs } from "fauxqs";

await startFauxqs({ logger: process.env.FAUXQS_LOGGER === "true" });
