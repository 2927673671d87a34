// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Dependency direction (docs/architecture.md): main → app → http → domain → {config types, errors}.
// Domain folders never import fastify; ioredis stays in store files and main; undici in upstream/ and main.
const domainRestrictions = {
  patterns: [
    { group: ['fastify', '@fastify/*'], message: 'Domain code must not depend on Fastify; only src/http and src/app.ts do.' },
    { group: ['**/http/*', '**/app.js', '**/main.js'], message: 'Domain code must not import the HTTP layer.' },
  ],
};

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
    files: ['src/config/**', 'src/keys/**', 'src/policy/**', 'src/limits/**', 'src/usage/**', 'src/upstream/**', 'src/errors.ts'],
    rules: { 'no-restricted-imports': ['error', domainRestrictions] },
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
