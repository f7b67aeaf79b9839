import { describe, expect, it } from "vitest";
import { describeUnsavedWork, unsavedWorkAtRisk } from "./unsaved-work";

describe("unsaved work", () => {
  it("is said in words, one or many, leaving out what is nothing", () => {
    expect(describeUnsavedWork({ uncommitted: 3, unpushed: 1 })).toBe("3 uncommitted changes and 1 unpushed commit");
    expect(describeUnsavedWork({ uncommitted: 1, unpushed: 0 })).toBe("1 uncommitted change");
    expect(describeUnsavedWork({ uncommitted: 0, unpushed: 2 })).toBe("2 unpushed commits");
  });

  it("is at risk on a volume, or on a server while one runs; not when neither is left", () => {
    const work = { uncommitted: 1, unpushed: 0 };
    expect(unsavedWorkAtRisk({ status: "stopped", volumeId: 1, unsavedWork: work })).toEqual(work);
    expect(unsavedWorkAtRisk({ status: "running", volumeId: null, unsavedWork: work })).toEqual(work);
    expect(unsavedWorkAtRisk({ status: "stopped", volumeId: null, unsavedWork: work })).toBeNull();
    expect(
      unsavedWorkAtRisk({ status: "running", volumeId: 1, unsavedWork: { uncommitted: 0, unpushed: 0 } }),
    ).toBeNull();
    expect(unsavedWorkAtRisk({ status: "running", volumeId: 1, unsavedWork: null })).toBeNull();
  });
});
