/**
 * The house's import rules (issue 8), checked by `npm run check` (part of `npm test`):
 * a stage never imports another stage; the shared runtime imports neither stages, the local stack nor
 * the composition root; production code never imports tests; benchmarks never import tests.
 */
module.exports = {
  forbidden: [
    {
      name: 'stage-imports-another-stage',
      comment: 'Stages talk through Kafka topics; shared names and types belong in pipeline/ or schemas/.',
      severity: 'error',
      from: { path: '^stages/([^/]+)/' },
      to: { path: '^stages/([^/]+)/', pathNot: '^stages/$1/' },
    },
    {
      name: 'pipeline-imports-stages-stack-or-app',
      comment: 'pipeline/ is the shared runtime: the composition root (app/) wires it to the stages and the stack.',
      severity: 'error',
      from: { path: '^pipeline/' },
      to: { path: '^(stages|stack|app)/' },
    },
    {
      name: 'stack-imports-the-system',
      comment: 'stack/ starts servers; it knows nothing of the pipeline, the stages or the composition root.',
      severity: 'error',
      from: { path: '^stack/' },
      to: { path: '^(stages|app)/' },
    },
    {
      name: 'production-imports-tests',
      comment: 'Test helpers live under test/; production code and examples never depend on them.',
      severity: 'error',
      from: { path: '^(app|pipeline|stages|schemas|stack|connectors|examples|bin)/', pathNot: '\\.test\\.ts$' },
      to: { path: '^test/' },
    },
    {
      name: 'bench-imports-tests',
      comment: 'Benchmarks share the process harness in bench/harness, never test/.',
      severity: 'error',
      from: { path: '^bench/' },
      to: { path: '^test/' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that resolves to nothing is a typo or a missing dependency.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|\\.stack|target)/' },
    moduleSystems: ['es6'],
    tsPreCompilationDeps: true,
    // TypeScript 7 has no compiler API yet, so sources are parsed with swc.
    parser: 'swc',
    enhancedResolveOptions: {
      extensions: ['.ts', '.js', '.json'],
      exportsFields: ['exports'],
      conditionNames: ['import', 'node', 'default', 'types'],
    },
  },
};
