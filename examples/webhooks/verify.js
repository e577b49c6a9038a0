const crypto = require("node:crypto");

// True when `header` (Ikawaari-Signature) signs the raw request body (a Buffer).
function verify(payload, header, secret, tolerance = 300) {
  const pairs = header.split(",").map((part) => part.split("="));
  const t = Number((pairs.find(([k]) => k === "t") || [])[1]);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > tolerance) {
    return false; // too old (or from the future): a replay
  }
  const expected = crypto
    .createHmac("sha256", secret)
    .update(`${t}.`)
    .update(payload)
    .digest();
  return pairs.some(([k, v]) => {
    const given = Buffer.from(k === "v1" ? v : "", "hex");
    return given.length === expected.length && crypto.timingSafeEqual(given, expected);
  });
}

module.exports = { verify };
