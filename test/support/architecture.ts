// Reads a TypeScript project with the TypeScript 7 compiler's own parser and checker (the JS API
// of `typescript/unstable/sync`, which drives the same tsgo binary as `tsc`): every module edge
// (static, side-effect, re-export, dynamic `import()`, `import x = require()`, `typeof import()`),
// whether it exists at run time, and every reference to the global `process`, resolved by the
// checker rather than by its spelling (so `globalThis.process` and `global.process` count, and a
// local variable named `process` does not).
//
// `unstable` is TypeScript's own name for this API. If an upgrade changes it, this module fails to
// load or to find the program, and the architecture test fails with that error; it cannot pass
// silently.
import { relative, resolve } from "node:path";
import { API, SymbolFlags } from "typescript/unstable/sync";
import { type Node, type SourceFile, SyntaxKind } from "typescript/unstable/ast";

export interface ModuleEdge {
  /** The specifier as written. */
  specifier: string;
  /** "value": loaded at run time (any import or export-from not marked `type` as a whole). */
  kind: "value" | "type";
  line: number;
}

export interface ProcessUse {
  line: number;
  text: string;
}

export interface SourceFacts {
  /** Path relative to the source root, with `/`. */
  rel: string;
  edges: ModuleEdge[];
  processUses: ProcessUse[];
}

function lineOf(file: SourceFile, pos: number): number {
  const text = file.text;
  let line = 1;
  for (let i = 0; i < pos && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function stringLiteral(node: Node | undefined): string | undefined {
  if (node === undefined) return undefined;
  if (node.kind === SyntaxKind.StringLiteral || node.kind === SyntaxKind.NoSubstitutionTemplateLiteral) {
    return (node as unknown as { text: string }).text;
  }
  return undefined;
}

/** Parses and binds the project of `tsconfig`, and returns the facts of the files under `srcDir`. */
export function analyzeProject(tsconfig: string, srcDir: string): SourceFacts[] {
  const api = new API({ cwd: resolve(tsconfig, "..") });
  try {
    const snapshot = api.updateSnapshot({ openProjects: [resolve(tsconfig)] });
    const project = snapshot.getProjects()[0];
    if (project === undefined) throw new Error(`no TypeScript project for ${tsconfig}`);
    const { program, checker } = project;
    const root = resolve(srcDir);
    const names = program.getSourceFileNames().filter((f) => f.startsWith(`${root}/`) && !f.endsWith(".d.ts"));
    if (names.length === 0) throw new Error(`no source files under ${root} in ${tsconfig}`);

    const globalProcess = checker.resolveName("process", SymbolFlags.Value, undefined, false);
    if (globalProcess === undefined) throw new Error("the checker does not know the global `process` (is @types/node loaded?)");

    const facts: SourceFacts[] = [];
    for (const name of names) {
      const file = program.getSourceFile(name);
      if (file === undefined) throw new Error(`cannot read ${name}`);
      const edges: ModuleEdge[] = [];
      const candidates: Node[] = [];
      const edge = (specifier: string | undefined, kind: ModuleEdge["kind"], node: Node) => {
        if (specifier !== undefined) edges.push({ specifier, kind, line: lineOf(file, node.pos + 1) });
      };
      const visit = (node: Node): void => {
        switch (node.kind) {
          case SyntaxKind.ImportDeclaration: {
            const n = node as unknown as { moduleSpecifier: Node; importClause?: { phaseModifier?: SyntaxKind } };
            // `import { type A }` still loads the module under verbatimModuleSyntax: only `import type` is erased.
            const typeOnly = n.importClause?.phaseModifier === SyntaxKind.TypeKeyword;
            edge(stringLiteral(n.moduleSpecifier), typeOnly ? "type" : "value", node);
            break;
          }
          case SyntaxKind.ExportDeclaration: {
            const n = node as unknown as { moduleSpecifier?: Node; isTypeOnly: boolean };
            if (n.moduleSpecifier) edge(stringLiteral(n.moduleSpecifier), n.isTypeOnly ? "type" : "value", node);
            break;
          }
          case SyntaxKind.ImportEqualsDeclaration: {
            const n = node as unknown as { moduleReference: Node & { expression?: Node }; isTypeOnly: boolean };
            if (n.moduleReference.kind === SyntaxKind.ExternalModuleReference) {
              edge(stringLiteral(n.moduleReference.expression), n.isTypeOnly ? "type" : "value", node);
            }
            break;
          }
          case SyntaxKind.CallExpression: {
            const n = node as unknown as { expression: Node; arguments: readonly Node[] };
            if (n.expression.kind === SyntaxKind.ImportKeyword) {
              const spec = stringLiteral(n.arguments[0]);
              edge(spec ?? "<computed import()>", "value", node);
            }
            break;
          }
          case SyntaxKind.ImportType: {
            const n = node as unknown as { argument: Node & { literal?: Node } };
            edge(stringLiteral(n.argument.literal), "type", node);
            break;
          }
          case SyntaxKind.Identifier:
            if ((node as unknown as { text: string }).text === "process") candidates.push(node);
            break;
          case SyntaxKind.ElementAccessExpression: {
            // globalThis["process"]: the checker has no symbol for a computed name, so match the literal.
            const n = node as unknown as { expression: Node; argumentExpression: Node };
            if (stringLiteral(n.argumentExpression) === "process") candidates.push(node);
            break;
          }
        }
        node.forEachChild(visit);
      };
      visit(file);

      const processUses: ProcessUse[] = [];
      const identifiers = candidates.filter((c) => c.kind === SyntaxKind.Identifier);
      const symbols = identifiers.length ? checker.getSymbolAtLocation(identifiers) : [];
      identifiers.forEach((id, i) => {
        if (symbols[i]?.id === globalProcess.id) processUses.push({ line: lineOf(file, id.pos + 1), text: "process" });
      });
      for (const c of candidates) {
        if (c.kind === SyntaxKind.ElementAccessExpression) processUses.push({ line: lineOf(file, c.pos + 1), text: '["process"]' });
      }
      facts.push({ rel: relative(root, name).split("\\").join("/"), edges, processUses });
    }
    return facts.sort((a, b) => a.rel.localeCompare(b.rel));
  } finally {
    api.close();
  }
}
