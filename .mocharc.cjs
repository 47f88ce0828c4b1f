// One mocha run over every package's tests, on the TypeScript sources (tsx), so the output
// ends with mocha's summary and the plain "N passed, N failed" line CI reads.
// `npx mocha some/file.test.ts` runs just that file.
const explicit = process.argv.slice(2).some((arg) => /\.test\.ts$/.test(arg));

module.exports = {
  spec: explicit
    ? []
    : ['shared/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'scripts/*/test/**/*.test.ts', 'deploy/test/**/*.test.ts'],
  'node-option': ['import=tsx', 'conditions=@inorder/source'],
  require: ['scripts/testkit/mocha/hooks.ts'],
  reporter: './scripts/testkit/mocha/reporter.cjs',
  timeout: 60000,
  slow: 5000,
  exit: true,
};
