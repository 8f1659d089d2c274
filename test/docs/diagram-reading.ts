/**
 * Reading a generated diagram the way docs/machine.md tells a person to, independently of the
 * generator: the machine's transitions walked from `machine.root` (not `toDirectedGraph`), the Mermaid
 * source parsed line by line, and each transition looked for in every form the page describes (an
 * arrow, an arrow into a composite plus its ◇ branch, a line in its state's box, a shared line in its
 * target's box).
 */
import type { AnyStateMachine } from 'xstate';

/** One transition, read from `machine.root`. */
export interface Walked {
  /** Source path, `''` for the machine's own transition. */
  from: string;
  /** Target path, or `null` when it has no target. */
  to: string | null;
  eventType: string;
  /** `after <delay>` for a deadline, else the event type. */
  trigger: string;
  /** Guard name, `else` after guarded branches of the same event, `''` for none. */
  guard: string;
  reenter: boolean;
}

interface RootNode {
  path: string[];
  states: Record<string, RootNode>;
  transitions: Map<string, ReadonlyArray<WalkedDefinition>>;
}
interface WalkedDefinition {
  target?: ReadonlyArray<{ path: string[] }>;
  guard?: unknown;
  reenter?: boolean;
}

/** Every transition of every state, the machine's own included, depth first. */
export function walk(machine: AnyStateMachine): Walked[] {
  const out: Walked[] = [];
  const visit = (node: RootNode) => {
    for (const [eventType, definitions] of node.transitions) {
      let guardedBefore = false;
      for (const t of definitions) {
        const guard =
          typeof t.guard === 'string'
            ? t.guard
            : t.guard && typeof t.guard === 'object'
              ? String((t.guard as { type: unknown }).type)
              : '';
        const delay = /^xstate\.after\.([^.]+)\./.exec(eventType)?.[1];
        out.push({
          from: node.path.join('.'),
          to: t.target?.[0] ? t.target[0].path.join('.') : null,
          eventType,
          trigger: delay ? `after ${delay}` : eventType,
          guard: guard || (guardedBefore ? 'else' : ''),
          reenter: t.reenter === true,
        });
        if (guard) guardedBefore = true;
      }
    }
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root as unknown as RootNode);
  return out;
}

/** Every state path, depth first. */
export function statePaths(machine: AnyStateMachine): string[] {
  const out: string[] = [];
  const visit = (states: Record<string, RootNode>) => {
    for (const node of Object.values(states)) {
      out.push(node.path.join('.'));
      visit(node.states);
    }
  };
  visit((machine.root as unknown as RootNode).states);
  return out;
}

/** A state box of the diagram. */
export interface Box {
  id: string;
  /** The name shown (the state's key), or `''` for a choice. */
  name: string;
  /** Id of the composite it is drawn in, `null` at the top. */
  parent: string | null;
  composite: boolean;
  choice: boolean;
  /** Lines written in the box (under the name, for a composite). */
  lines: string[];
}

/** An arrow of the diagram. */
export interface Arrow {
  from: string;
  to: string;
  /** Label lines (`<br/>` separated in the source); empty for none. */
  labels: string[];
  parent: string | null;
}

export interface Diagram {
  boxes: Map<string, Box>;
  arrows: Arrow[];
  /** `[*] --> x`, by composite id (`null` at the top). */
  initial: Map<string | null, string>;
  /** `x --> [*]`. */
  finals: string[];
}

/** Parses the subset of stateDiagram-v2 the generator writes; anything else is an error. */
export function parseDiagram(source: string): Diagram {
  const lines = source.split('\n');
  if (lines[0] !== 'stateDiagram-v2') throw new Error(`not a stateDiagram-v2: ${lines[0]}`);
  const boxes = new Map<string, Box>();
  const arrows: Arrow[] = [];
  const initial = new Map<string | null, string>();
  const finals: string[] = [];
  const stack: string[] = [];
  const parent = () => stack.at(-1) ?? null;
  const rules: Array<[RegExp, (m: string[]) => void]> = [
    [
      /^state "([^"]+)" as (\w+)( \{)?$/,
      ([, title = '', id = '', open]) => {
        const [name = '', ...boxLines] = title.split('<br/>');
        boxes.set(id, {
          id,
          name,
          parent: parent(),
          composite: Boolean(open),
          choice: false,
          lines: boxLines,
        });
        if (open) stack.push(id);
      },
    ],
    [
      /^state (\w+) <<choice>>$/,
      ([, id = '']) => {
        boxes.set(id, { id, name: '', parent: parent(), composite: false, choice: true, lines: [] });
      },
    ],
    [
      /^\}$/,
      () => {
        if (!stack.pop()) throw new Error('unbalanced }');
      },
    ],
    [/^\[\*\] --> (\w+)$/, ([, id = '']) => initial.set(parent(), id)],
    [/^(\w+) --> \[\*\]$/, ([, id = '']) => finals.push(id)],
    [
      /^(\w+) --> (\w+)(?: : (.+))?$/,
      ([, from = '', to = '', label]) => {
        arrows.push({ from, to, labels: label ? label.split('<br/>') : [], parent: parent() });
      },
    ],
    [
      /^(\w+) : (.+)$/,
      ([, id = '', text = '']) => {
        const box = boxes.get(id);
        if (!box) throw new Error(`a line for ${id} before its state`);
        box.lines.push(text);
      },
    ],
  ];
  for (const raw of lines.slice(1)) {
    const line = raw.trim();
    const rule = rules.find(([pattern]) => pattern.test(line));
    if (!rule) throw new Error(`unexpected diagram line: ${raw}`);
    rule[1]([...(rule[0].exec(line) ?? [])]);
  }
  if (stack.length > 0) throw new Error(`unclosed composite ${stack.join(', ')}`);
  return { boxes, arrows, initial, finals };
}

/** Where a transition was found: one entry per form it appears in. */
export type Found =
  | { kind: 'arrow'; arrow: Arrow; label: string }
  | { kind: 'choice'; arrow: Arrow; label: string; branch: Arrow }
  | { kind: 'line'; box: Box; line: string; branch?: Arrow }
  | { kind: 'shared'; box: Box; line: string };

/** The Mermaid id the page uses for a state path (its key path with `_` for `.` and `-`). */
export const idOf = (path: string) => path.replace(/[^A-Za-z0-9_]/g, '_');

/**
 * Every place the diagram shows this transition. `topLevel` are the machine's top-level states (for
 * "every other state").
 */
export function findTransition(t: Walked, diagram: Diagram, topLevel: readonly string[]): Found[] {
  const found: Found[] = [];
  const label = t.guard ? `${t.trigger} [${t.guard}]` : t.trigger;
  const stays = t.to === null || t.to === t.from;
  const fromId = idOf(t.from);
  if (stays) {
    const suffix = t.to === null ? '(stays)' : t.reenter ? '(re-enters)' : '(stays)';
    for (const arrow of diagram.arrows) {
      if (arrow.from === fromId && arrow.to === fromId && arrow.labels.includes(`${label} ${suffix}`)) {
        found.push({ kind: 'arrow', arrow, label: `${label} ${suffix}` });
      }
    }
    return found;
  }
  const to = t.to as string;
  // The composites around the target that draw a ◇ branch to it, and that the source is outside of.
  const branches: Array<{ composite: string; branch: Arrow }> = [];
  for (const box of diagram.boxes.values()) {
    if (!box.choice || !box.parent) continue;
    const composite = [...diagram.boxes.values()].find((b) => b.id === box.parent);
    if (!composite) continue;
    const compositePath = pathOf(composite, diagram);
    if (!(to === compositePath || to.startsWith(`${compositePath}.`))) continue;
    if (t.from === compositePath || t.from.startsWith(`${compositePath}.`)) continue;
    for (const branch of diagram.arrows) {
      if (
        branch.from === box.id &&
        branch.to === idOf(to) &&
        branch.labels.includes(`[${t.guard || 'always'}]`)
      ) {
        branches.push({ composite: compositePath, branch });
      }
    }
  }
  for (const arrow of diagram.arrows) {
    if (arrow.from !== fromId) continue;
    if (arrow.to === idOf(to) && arrow.labels.includes(label)) found.push({ kind: 'arrow', arrow, label });
    for (const { composite, branch } of branches) {
      if (arrow.to === idOf(composite) && arrow.labels.includes(t.trigger)) {
        found.push({ kind: 'choice', arrow, label: t.trigger, branch });
      }
    }
  }
  const source = diagram.boxes.get(fromId);
  if (source && t.from !== '') {
    for (const line of source.lines) {
      if (line === `${label} → ${to}`) found.push({ kind: 'line', box: source, line });
      for (const { composite, branch } of branches) {
        if (line === `${t.trigger} → ${composite}`) found.push({ kind: 'line', box: source, line, branch });
      }
    }
  }
  for (const target of [to, ...branches.map((b) => b.composite)]) {
    const box = diagram.boxes.get(idOf(target));
    for (const line of box?.lines ?? []) {
      if (!line.startsWith(`${t.trigger} from `)) continue;
      const list = line.slice(`${t.trigger} from `.length);
      if (list === "any state (the machine's own)") {
        if (t.from === '') found.push({ kind: 'shared', box: box as Box, line });
        continue;
      }
      if (list === 'every other state') {
        const top = t.from.split('.')[0];
        if (!t.guard && t.from === top && topLevel.includes(t.from) && t.from !== target.split('.')[0]) {
          found.push({ kind: 'shared', box: box as Box, line });
        }
        continue;
      }
      for (const item of list.split(', ')) {
        const [name, ...guards] = item.split(' [');
        const itemGuards = guards.map((g) => g.replace(/\]$/, ''));
        if (name === t.from && (t.guard ? itemGuards.includes(t.guard) : itemGuards.length === 0)) {
          found.push({ kind: 'shared', box: box as Box, line });
        }
      }
    }
  }
  return found;
}

/** The state path a box stands for: its composites' names and its own, joined by dots. */
export function pathOf(box: Box, diagram: Diagram): string {
  const names: string[] = [];
  for (let b: Box | undefined = box; b; b = b.parent ? diagram.boxes.get(b.parent) : undefined) {
    names.unshift(b.name);
  }
  return names.join('.');
}
