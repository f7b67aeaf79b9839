import { z } from "zod";
import { sizeNames, type Size } from "../workspaces/sizes";
import { MIN_IDLE_MINUTES } from "../workspaces/schema";

export const hetznerLocations = {
  fsn1: "Falkenstein, DE",
  nbg1: "Nuremberg, DE",
  hel1: "Helsinki, FI",
  ash: "Ashburn, US",
  hil: "Hillsboro, US",
  sin: "Singapore",
} as const;

/** The admin page's second form (its button's `intent`); the policy form sends none. */
export const BUILD_IMAGE_INTENT = "build-image";

/** The bounds an admin may set; the stored policy (policy.server.ts) is checked against the same. */
export const policyBounds = {
  idleMinutes: { min: MIN_IDLE_MINUTES, max: 1440 },
  lifetimeHours: { min: 1, max: 168 },
  workspacesPerUser: { min: 1, max: 100 },
} as const;
const { idleMinutes, lifetimeHours, workspacesPerUser } = policyBounds;

const minutes = (label: string) =>
  z
    .number({ error: `Enter the ${label} in minutes` })
    .int()
    .min(idleMinutes.min, `At least ${idleMinutes.min} minutes`)
    .max(idleMinutes.max, `At most 24 hours (${idleMinutes.max} minutes)`);
const hours = (label: string) =>
  z
    .number({ error: `Enter the ${label} in hours` })
    .int()
    .min(lifetimeHours.min, `At least ${lifetimeHours.min} hour`)
    .max(lifetimeHours.max, `At most ${lifetimeHours.max} hours`);

/** The admin policy form, as submitted; turned into a Policy by the action. */
export const policyFormSchema = z
  .object({
    allowedSizes: z
      .array(z.enum(sizeNames as [Size, ...Size[]]), { error: "Allow at least one size" })
      .min(1, "Allow at least one size"),
    allowedLocations: z
      .array(z.enum(Object.keys(hetznerLocations) as [keyof typeof hetznerLocations]), {
        error: "Allow at least one location",
      })
      .min(1, "Allow at least one location"),
    maxWorkspacesPerUser: z
      .number({ error: "Enter a number" })
      .int()
      .min(workspacesPerUser.min, `At least ${workspacesPerUser.min}`)
      .max(workspacesPerUser.max, `At most ${workspacesPerUser.max}`),
    defaultIdleMinutes: minutes("default idle timeout"),
    maxIdleMinutes: minutes("maximum idle timeout"),
    defaultLifetimeHours: hours("default lifetime"),
    maxLifetimeHours: hours("maximum lifetime"),
    allowedLogins: z
      .string()
      .optional()
      .transform((value) => [
        ...new Set(
          (value ?? "")
            .split(/[\s,]+/)
            .map((login) => login.trim().toLowerCase())
            .filter(Boolean),
        ),
      ])
      .refine(
        (logins) => logins.every((login) => /^[a-z0-9](?:[a-z0-9-]{0,38})$/.test(login)),
        "GitHub logins are letters, digits and hyphens",
      ),
  })
  .refine((form) => form.defaultIdleMinutes <= form.maxIdleMinutes, {
    path: ["defaultIdleMinutes"],
    message: "The default is above the maximum",
  })
  .refine((form) => form.defaultLifetimeHours <= form.maxLifetimeHours, {
    path: ["defaultLifetimeHours"],
    message: "The default is above the maximum",
  });
