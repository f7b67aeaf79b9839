import { describe, expect, it } from "vitest";
import { parseInline, parseMarkdown } from "./markdown";

describe("chat markdown", () => {
  it("parses the blocks an agent writes", () => {
    const blocks = parseMarkdown(
      "# Plan\n\nI will:\n\n- read **README.md**\n- add a line\n\n```sh\nnpm test\n```\n> note",
    );
    expect(blocks.map((block) => block.type)).toEqual(["heading", "paragraph", "list", "code", "quote"]);
    expect(blocks[2]).toMatchObject({ type: "list", ordered: false, items: [expect.any(Array), expect.any(Array)] });
    expect(blocks[3]).toEqual({ type: "code", lang: "sh", text: "npm test" });
  });

  it("renders a fence that is still streaming as code", () => {
    expect(parseMarkdown("Here:\n```js\nconst a = 1;")).toEqual([
      { type: "paragraph", children: [{ type: "text", text: "Here:" }] },
      { type: "code", lang: "js", text: "const a = 1;" },
    ]);
  });

  it("parses inline code, emphasis and links, and drops links that could run script", () => {
    expect(parseInline("use `npm i` and **bold** or *em* in snake_case_names")).toEqual([
      { type: "text", text: "use " },
      { type: "code", text: "npm i" },
      { type: "text", text: " and " },
      { type: "strong", children: [{ type: "text", text: "bold" }] },
      { type: "text", text: " or " },
      { type: "em", children: [{ type: "text", text: "em" }] },
      { type: "text", text: " in snake_case_names" },
    ]);
    expect(parseInline("[docs](https://example.com)")).toEqual([
      { type: "link", href: "https://example.com", children: [{ type: "text", text: "docs" }] },
    ]);
    expect(parseInline("[click](javascript:alert(1))")).toEqual([
      { type: "text", text: "click" },
      { type: "text", text: ")" },
    ]);
  });
});
