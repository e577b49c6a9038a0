const API = process.env.IKAWAARI_API ?? "http://127.0.0.1:8080";
const KEY = process.env.IKAWAARI_KEY; // the ik_test_… key `serve` printed

async function ikawaari(method, path, body) {
  const headers = { Authorization: `Bearer ${KEY}`, "Content-Type": "application/json" };
  if (method === "POST") headers["Idempotency-Key"] = crypto.randomUUID(); // keep it to retry safely
  const res = await fetch(API + path, { method, headers, body: body && JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(`${json.error.code}: ${json.error.message} (request ${json.error.request_id})`);
  return json;
}

const session = await ikawaari("POST", "/api/v1/checkout/sessions", {
  line_items: [{ name: "Premium Plan", amount: 50000, currency: "XOF", quantity: 1 }],
  mode: "payment",
  success_url: "https://yoursite.com/success?session_id={CHECKOUT_SESSION_ID}",
  cancel_url: "https://yoursite.com/cancel",
});
console.log(session.id, session.url); // send the customer to session.url
