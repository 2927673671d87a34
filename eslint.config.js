// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

// Dependency direction (docs/architecture.md): main → app → http → domain → {config types, errors}.
// Domain folders never import fastify; ioredis stays in store files and main; undici in upstream/ and main.
const domainRestrictions = {
  patterns: [
    { group: ['fastify', '@fastify/*'], message: 'Domain code must not depend on Fastify; only src/http and src/app.ts do.' },
    { group: ['**/http/*', '**/app.js', '**/main.js'], message: 'Domain code must not import the HTTP layer.' },
    { group: ['**/fake/*'], message: 'The fake xAI server is for tests and the demo only.' },
  ],
};

/** Folders of domain code: no Fastify, no HTTP layer, no fake. */
const DOMAIN = ['src/config/**', 'src/keys/**', 'src/policy/**', 'src/limits/**', 'src/usage/**', 'src/upstream/**', 'src/ownership/**',
  'src/activity/**', 'src/alerts/**', 'src/audit/**', 'src/metrics/**', 'src/journal/**', 'src/errors.ts'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'examples/**/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      // Fastify hooks, handlers and plugins are async by contract even when they do not await.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Plain Node scripts run against the build (no TypeScript project): linted without type information.
  {
    files: ['scripts/**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { parserOptions: { projectService: false, project: null }, globals: { process: 'readonly' } },
  },
  {
    files: DOMAIN,
    rules: { 'no-restricted-imports': ['error', domainRestrictions] },
  },
  // Only the demo (and the fake itself, and tests) may import the fake xAI server: it stays out of the runtime image.
  {
    files: ['src/**'],
    ignores: ['src/fake/**', 'src/demo.ts', ...DOMAIN],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/fake/*'], message: 'The fake xAI server is for tests and the demo only.' }] }] },
  },
  // No import cycles between modules of src (type-only imports aside): dependencies point one way (docs/architecture.md).
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    files: ['src/config/**', 'src/policy/**', 'src/usage/**', 'src/errors.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          ...domainRestrictions.patterns,
          { group: ['ioredis', 'undici'], message: 'Pure domain code: no Redis or HTTP client here.' },
        ],
      }],
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
