/*
 * The editor's globals, as far as this package's dialogs use them: Node-RED's RED and its jQuery ($).
 * Our own minimal typings (no @types/jquery): add a member here when a dialog needs it.
 */

/** The jqXHR of a failed admin request, as far as ajaxError reads it. */
interface JQueryXHR {
  status: number;
  responseJSON?: unknown;
  responseText?: string;
}

interface JQueryPromise<T> {
  done(cb: (data: T) => void): this;
  fail(cb: (xhr: JQueryXHR, textStatus: string, errorThrown: string) => void): this;
  always(cb: () => void): this;
}

interface JQueryEvent {
  key: string;
  target: EventTarget | null;
  preventDefault(): void;
}

type JQueryContent = JQuery | Node | string;

interface JQuery<E extends HTMLElement = HTMLElement> {
  length: number;
  [index: number]: E;
  /** An input's or select's value (no multi-selects here). */
  val(): string;
  val(value: string): this;
  text(): string;
  text(value: string): this;
  html(): string;
  html(value: string): this;
  attr(name: string): string | undefined;
  attr(name: string, value: string): this;
  attr(values: Record<string, string>): this;
  prop(name: "checked" | "disabled"): boolean;
  prop(name: "checked" | "disabled", value: boolean): this;
  data(key: string): unknown;
  data(key: string, value: unknown): this;
  css(name: string, value: string): this;
  on(events: string, handler: (this: E, event: JQueryEvent) => void): this;
  trigger(event: string): this;
  empty(): this;
  append(...content: JQueryContent[]): this;
  appendTo(target: JQuery): this;
  prependTo(target: JQuery): this;
  insertAfter(target: JQuery): this;
  insertBefore(target: JQuery): this;
  addClass(names: string): this;
  removeClass(names: string): this;
  toggleClass(names: string, on?: boolean): this;
  hasClass(name: string): boolean;
  toggle(show?: boolean): this;
  show(): this;
  hide(): this;
  is(selector: string): boolean;
  find(selector: string): JQuery;
  filter(selector: string | ((this: E, index: number) => boolean)): JQuery;
  children(selector?: string): JQuery;
  siblings(): JQuery;
  closest(selector: string): JQuery;
  parent(): JQuery;
  each(cb: (this: E, index: number) => void): this;
  outerHeight(includeMargin?: boolean): number;
  height(): number;
}

interface JQueryStatic {
  (selector: string | Element): JQuery;
  getJSON(url: string): JQueryPromise<unknown>;
  ajax(options: {
    url: string;
    dataType: "json";
    method?: "GET" | "POST";
    contentType?: string;
    data?: string;
  }): JQueryPromise<unknown>;
}

/** A config node as RED.nodes.eachConfig hands it over. */
interface RedConfigNode {
  id: string;
  type: string;
  z?: string;
}

interface RedEditor {
  /** The editor's i18n: "<namespace>:<key>", with __name__ placeholders filled from opts. */
  _(key: string, opts?: Record<string, unknown>): string;
  i18n: { lang(): string };
  workspaces: { active(): string };
  nodes: { eachConfig(cb: (node: RedConfigNode) => void): void };
}

declare const RED: RedEditor;
declare const $: JQueryStatic;
