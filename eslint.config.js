// Lint rules, including the folder boundaries of ARCHITECTURE.md: shared/ imports no service or CLI,
// ml/ and analytics/ stay pure (no Redis), services never import one another, the CLI never imports a service.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const restrict = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });
const services = ['**/services/**'];
const io = ['ioredis', 'bullmq', '**/store/**'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', {
        // node:test's test() and describe() return promises the runner itself awaits.
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }],
      }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  { files: ['eslint.config.js', 'bin/*.js'], ...tseslint.configs.disableTypeChecked },
  // The install step runs before dependencies are typed or built: plain JavaScript, linted without type information.
  { files: ['native/*.mjs'], ...tseslint.configs.disableTypeChecked, languageOptions: { parserOptions: { projectService: false }, globals: { console: 'readonly', process: 'readonly' } } },
  { files: ['shared/**/*.ts'], rules: restrict([...services, '**/cli/**']) },
  { files: ['shared/ml/**/*.ts', 'shared/analytics/**/*.ts', 'shared/data/**/*.ts'], rules: restrict([...services, '**/cli/**', ...io]) },
  { files: ['shared/analytics/**/*.ts'], rules: restrict([...services, '**/cli/**', ...io, '@tensorflow/*', '**/ml/**']) },
  { files: ['services/trainer/**/*.ts'], rules: restrict(['**/services/encoder/**', '**/services/downstream/**', '**/services/dashboard/**', '**/cli/**']) },
  { files: ['services/encoder/**/*.ts'], rules: restrict(['**/services/trainer/**', '**/services/downstream/**', '**/services/dashboard/**', '**/cli/**']) },
  { files: ['services/downstream/**/*.ts'], rules: restrict(['**/services/trainer/**', '**/services/encoder/**', '**/services/dashboard/**', '**/cli/**']) },
  { files: ['services/dashboard/**/*.ts'], rules: restrict(['**/services/trainer/**', '**/services/encoder/**', '**/services/downstream/**', '**/cli/**']) },
  { files: ['cli/**/*.ts'], rules: restrict(services) },
);
