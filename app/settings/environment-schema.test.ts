import { parseWithZod } from "@conform-to/zod/v4";
import { describe, expect, it } from "vitest";
import { environmentNameProblem, saveEnvironmentVariableSchema } from "./environment-schema";

const form = (fields: Record<string, string>) => {
  const data = new FormData();
  data.set("intent", "save-variable");
  for (const [name, value] of Object.entries(fields)) data.set(name, value);
  return parseWithZod(data, { schema: saveEnvironmentVariableSchema });
};
/** The field errors of a submission that failed. */
const errors = (fields: Record<string, string>) => {
  const submission = form(fields);
  return submission.status === "error" ? (submission.error ?? {}) : {};
};

describe("workspace variable names", () => {
  it("accept ordinary names, whatever their case", () => {
    for (const name of ["GREETING", "api_url", "_PRIVATE", "A1", "LANG", "GITHUB_TOKEN", "SAMPLE", "x".repeat(64)])
      expect(environmentNameProblem(name), name).toBeNull();
  });

  it("refuse the prefixes SAM uses, in any case, saying why", () => {
    expect(environmentNameProblem("SAM_X")).toContain("SAM_* names are SAM's own");
    expect(environmentNameProblem("git_token")).toContain("SAM sets GIT_*");
    expect(environmentNameProblem("Anthropic_API_KEY")).toContain("Credentials");
    expect(environmentNameProblem("OPENAI_BASE_URL")).toContain("model proxy");
  });

  it("refuse the names SAM sets for every process, and malformed or long names", () => {
    for (const name of ["PATH", "home", "USER", "LOGNAME", "SHELL", "PWD", "TERM", "COLORTERM"])
      expect(environmentNameProblem(name), name).toMatch(/sets|shell/);
    expect(environmentNameProblem("CLAUDE_CODE_OAUTH_TOKEN")).toContain("Credentials");
    expect(environmentNameProblem("1ABC")).toContain("does not start with a digit");
    expect(environmentNameProblem("MY-VAR")).toContain("letters, digits and _");
    expect(environmentNameProblem("A B")).toContain("letters, digits and _");
    expect(environmentNameProblem("constructor")).toBeNull();
    expect(environmentNameProblem("x".repeat(65))).toContain("at most 64");
  });
});

describe("the variable form", () => {
  it("reads a secret for all repositories by default, and keeps a multi-line value with LF line breaks", () => {
    const submission = form({ name: "KEY", value: "line one\r\nline two", secret: "on" });
    expect(submission.status).toBe("success");
    expect(submission.status === "success" && submission.value).toEqual({
      intent: "save-variable",
      name: "KEY",
      value: "line one\nline two",
      secret: true,
      scope: "",
    });
    const plain = form({ name: "PLAIN", value: " padded ", scope: "sam-dev/hello-world" });
    expect(plain.status === "success" && plain.value).toMatchObject({
      value: " padded ",
      secret: false,
      scope: "sam-dev/hello-world",
    });
  });

  it("puts each problem on its field: name, value and scope", () => {
    expect(errors({ name: "GIT_TOKEN", value: "x" }).name?.[0]).toContain("GIT_TOKEN cannot be used");
    expect(errors({ name: "A" }).value).toEqual(["Give the variable a value"]);
    expect(errors({ name: "A", value: "a\0b" }).value).toEqual(["A value cannot contain a NUL character."]);
    expect(errors({ name: "A", value: "é".repeat(4097) }).value).toEqual(["A value is at most 8 KiB."]);
    expect(form({ name: "A", value: "x".repeat(8192) }).status).toBe("success");
    expect(errors({ name: "A", value: "x", scope: "../etc" }).scope?.[0]).toContain("Choose All repositories");
  });
});
