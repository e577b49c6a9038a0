// graphql-codegen against the running server: its URL loader sends the
// standard introspection query (run by .ci/integrators).
import type { CodegenConfig } from "@graphql-codegen/cli";

const url = process.env.IK_GRAPHQL_URL ?? "http://127.0.0.1:8080/graphql";
const key = process.env.IK_KEY ?? "";

const config: CodegenConfig = {
  overwrite: true,
  generates: {
    "gen/graphql.ts": {
      schema: [{ [url]: { headers: { Authorization: `Bearer ${key}` } } }],
      plugins: ["typescript"],
    },
  },
};

export default config;
