import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "build/", ".cache/", "test-artifacts/", ".node-red-demo/", "resources/settings-rules.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "error",
      // `import x = require()` is how TypeScript imports CommonJS `export =` modules (our Node-RED nodes).
      "@typescript-eslint/no-require-imports": ["error", { allowAsImport: true }],
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-console": "off"
    }
  },
  {
    files: ["**/*.js", "**/*.mjs", "**/*.cjs"],
    languageOptions: {
      sourceType: "commonjs",
      globals: {
        require: "readonly", module: "writable", process: "readonly", console: "readonly",
        __dirname: "readonly", globalThis: "readonly", setImmediate: "readonly", setTimeout: "readonly", clearTimeout: "readonly", Buffer: "readonly",
        setInterval: "readonly", clearInterval: "readonly", URL: "readonly", fetch: "readonly"
      }
    },
    rules: { "@typescript-eslint/no-require-imports": "off" }
  },
  {
    // Editor scripts, served by Node-RED at resources/@speedwire/node-red-sma/: browser scripts, not CommonJS.
    files: ["resources/**/*.js"],
    languageOptions: {
      sourceType: "script",
      globals: { window: "readonly", document: "readonly", RED: "readonly", $: "readonly", setTimeout: "readonly", clearTimeout: "readonly" }
    },
    rules: { "no-var": "off", "prefer-const": "off", strict: ["error", "function"], "no-implicit-globals": "error" }
  }
);
