// The standard graphql-js introspection query (what GraphiQL, graphql-codegen,
// Postman and Apollo Sandbox send) against the live /graphql: the schema it
// rebuilds must print exactly as the committed openapi/schema.graphql does.
import { readFileSync } from "node:fs";
import {
  buildClientSchema,
  buildSchema,
  getIntrospectionQuery,
  lexicographicSortSchema,
  printSchema,
} from "graphql";

const [url, key] = process.argv.slice(2);
const res = await fetch(url, {
  method: "POST",
  headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
  body: JSON.stringify({ query: getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, inputValueDeprecation: true }) }),
});
const body = await res.json();
if (res.status !== 200 || body.errors) {
  console.error("introspection refused:", res.status, JSON.stringify(body.errors));
  process.exit(1);
}
const print = (s) => printSchema(lexicographicSortSchema(s));
const live = print(buildClientSchema(body.data));
const committed = print(buildSchema(readFileSync("../../openapi/schema.graphql", "utf8")));
if (live !== committed) {
  const a = live.split("\n"), b = committed.split("\n");
  const i = a.findIndex((line, n) => line !== b[n]);
  console.error(`live schema differs from schema.graphql at line ${i + 1}:\n  live:      ${a[i]}\n  committed: ${b[i]}`);
  process.exit(1);
}
console.log(`graphql-js introspection: the live schema is the committed schema.graphql (${live.split("\n").length} lines)`);
