// CI's drift check: the committed src/generated/openapi.ts is what openapi-typescript makes of ../openapi.json.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const here = new URL("..", import.meta.url).pathname;
const fresh = join(mkdtempSync(join(tmpdir(), "garmax-types-")), "openapi.ts");
execFileSync(join(here, "node_modules/.bin/openapi-typescript"), [join(here, "../openapi.json"), "--output", fresh], {
  stdio: "pipe",
});
if (readFileSync(fresh, "utf8") !== readFileSync(join(here, "src/generated/openapi.ts"), "utf8")) {
  console.error("src/generated/openapi.ts differs from ../openapi.json: run `npm run generate`");
  process.exit(1);
}
console.log("generated types match sdks/openapi.json");
