// Reads a .glb with two independent libraries and prints one JSON object on stdout:
//   validation: the Khronos glTF-Validator report summary (errors, warnings, their messages);
//   json: the glTF JSON as @gltf-transform/core parses it from the GLB container;
//   attributes: {semantic: {type, componentType, normalized, count, array}} of the first primitive, decoded by
//   @gltf-transform/core (each accessor's elements as plain numbers, normalized integers left as stored).
// Usage: node read_glb.mjs FILE.glb   (modules resolved from .ci/node, where .ci/run installs them)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '../../.ci/node/package.json'));
const validator = require('gltf-validator');
const { NodeIO } = await import(require.resolve('@gltf-transform/core'));

const bytes = new Uint8Array(readFileSync(process.argv[2]));
const report = await validator.validateBytes(bytes, { maxIssues: 50 });
const io = new NodeIO();
const json = (await io.binaryToJSON(bytes)).json;
const doc = await io.readBinary(bytes);
const prim = doc.getRoot().listMeshes()[0].listPrimitives()[0];
const attributes = {};
for (const semantic of prim.listSemantics()) {
  const acc = prim.getAttribute(semantic);
  attributes[semantic] = { type: acc.getType(), componentType: acc.getComponentType(),
    normalized: acc.getNormalized(), count: acc.getCount(), array: Array.from(acc.getArray()) };
}
const issues = report.issues;
console.log(JSON.stringify({
  validation: { numErrors: issues.numErrors, numWarnings: issues.numWarnings, numInfos: issues.numInfos,
    messages: issues.messages.map((m) => `${m.severity} ${m.code}: ${m.message} (${m.pointer ?? ''})`) },
  mode: prim.getMode(), json, attributes }));
