// Where a worker entry's compiled JavaScript is. Under a TypeScript test runner the caller is
// the .ts source, but a worker always runs the compiled file in dist/.
export function compiledWorkerUrl(file: string, callerUrl: string): URL {
  return new URL(callerUrl.endsWith(".ts") ? `../../dist/node/${file}` : `./${file}`, callerUrl);
}
