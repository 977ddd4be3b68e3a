// Runs cdk-assets' own zip and Content-Type code, as published in the npm package (4.7.3).
//
//   node cdk_assets_zip.js PACKAGE_DIR zip SRC_DIR OUT_ZIP
//   node cdk_assets_zip.js PACKAGE_DIR content-type NAME...   (one type per line, "null" if none)
//
// PACKAGE_DIR holds node_modules/cdk-assets. cdk-assets 4.x ships one esbuild bundle
// (bin/cdk-assets.js) that ends by calling main(); its modules are closures inside it. This
// loads the bundle's text without that last call and returns two of its modules: the zip
// module of @aws-cdk/private-tools (zipDirectory, which cdk-assets-lib's file handler calls
// for `packaging: zip`) and the `mime` instance whose getType gives the Content-Type.
"use strict";
const fs = require("fs");
const Module = require("module");
const path = require("path");

function loadBundle(packageDir) {
  const bin = require.resolve("cdk-assets/bin/cdk-assets.js", { paths: [packageDir] });
  const source = fs.readFileSync(bin, "utf8");
  const mainCall = source.lastIndexOf("\nmain().catch(");
  for (const needed of ["var require_zip = __commonJS(", "var require_mime = __commonJS("]) {
    if (mainCall < 0 || !source.includes(needed)) {
      throw new Error(`${bin}: not the cdk-assets 4.7.3 bundle this test knows (no '${needed}')`);
    }
  }
  const bundle = new Module(bin, module);
  bundle.filename = bin;
  bundle.paths = Module._nodeModulePaths(path.dirname(bin));
  bundle._compile(
    source.slice(0, mainCall) + "\nmodule.exports = { zip: require_zip(), mime: require_mime() };\n",
    bin);
  return bundle.exports;
}

async function main() {
  const [packageDir, command, ...rest] = process.argv.slice(2);
  const { zip, mime } = loadBundle(packageDir);
  if (command === "zip") {
    await zip.zipDirectory(rest[0], rest[1]);
  } else if (command === "content-type") {
    for (const name of rest) {
      console.log(String(mime.getType(name)));
    }
  } else {
    throw new Error(`unknown command ${command}`);
  }
}

main().catch((error) => {
  console.error(error.stack || String(error));
  process.exit(1);
});
