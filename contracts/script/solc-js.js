// Compiles a standard-JSON input file with solc-js into an output file
// (used by script/solc). Imports that forge did not inline are read from
// the file system relative to the working directory.
"use strict";
const fs = require("fs");
const path = require("path");
const solc = require(path.join(__dirname, "..", "node_modules", "solc"));

const [input, output] = process.argv.slice(2);
function findImports(p) {
  try {
    return { contents: fs.readFileSync(p, "utf8") };
  } catch (e) {
    return { error: `file not found: ${p}` };
  }
}
const out = solc.compile(fs.readFileSync(input, "utf8"), { import: findImports });
fs.writeFileSync(output, out);
