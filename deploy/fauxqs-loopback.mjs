// Preloaded into the fauxqs SQS emulator (node --import): fauxqs 2.4.1 listens on 0.0.0.0 whatever
// FAUXQS_HOST says (that variable only names the host in queue URLs), so this rewrites its one
// listen() call to loopback. Used by dev.sh and by the test suite.
import net from "node:net";

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const [options] = args;
  if (options && typeof options === "object" && (options.host === "0.0.0.0" || options.host === "::")) {
    args[0] = { ...options, host: "127.0.0.1" };
  }
  return listen.apply(this, args);
};
