import yaml from "js-yaml";
import type { Pos } from "./errors.js";

/** A parsed YAML node with where it starts; mappings list key,value,key,value… */
export interface YNode {
  readonly pos: Pos;
  readonly value: unknown;
  readonly children: YNode[];
}

interface Frame {
  pos: Pos;
  children: YNode[];
}

/** The first non-blank character at or after `position`: where the node really starts. */
function nodeStart(text: string, position: number, line: number, lineStart: number): Pos {
  let p = position;
  while (p < text.length && (text[p] === " " || text[p] === "\t" || text[p] === "\n" || text[p] === "\r")) {
    if (text[p] === "\n") {
      line++;
      lineStart = p + 1;
    }
    p++;
  }
  return { line: line + 1, column: p - lineStart + 1 };
}

/**
 * Loads YAML and keeps each node's start position. js-yaml reports an 'open'
 * event at the start of every node (its kind/result fields are stale there)
 * and a 'close' event with the node's value, so a stack pairs them.
 */
export function loadWithPositions(text: string): YNode {
  const stack: Frame[] = [{ pos: { line: 1, column: 1 }, children: [] }];
  yaml.load(text, {
    // CORE: no timestamps, binary or merge keys; a Cxfile holds strings, numbers, lists and maps.
    schema: yaml.CORE_SCHEMA,
    json: false,
    listener(event, state) {
      if (event === "open") {
        stack.push({ pos: nodeStart(text, state.position, state.line, state.lineStart), children: [] });
        return;
      }
      const frame = stack.pop()!;
      let node: YNode = { pos: frame.pos, value: state.result, children: frame.children };
      // A node that merely wraps one child with the same value is that child.
      if (node.children.length === 1 && node.children[0].value === node.value) node = node.children[0];
      stack[stack.length - 1].children.push(node);
    },
  });
  const top = stack[0].children;
  return top[top.length - 1] ?? { pos: { line: 1, column: 1 }, value: undefined, children: [] };
}

/** The key and value nodes of a mapping entry, if the shapes line up. */
export function entry(node: YNode, key: string): { key: YNode; value: YNode } | undefined {
  for (let i = 0; i + 1 < node.children.length; i += 2) {
    if (node.children[i].value === key) return { key: node.children[i], value: node.children[i + 1] };
  }
  return undefined;
}
