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
  /** Hetzner makes volumes of 10 GB to 10 TB. */
  volumeGb: { min: 10, max: 10240 },
  volumeTotalGbPerUser: { min: 10, max: 102400 },
  volumeRetentionDays: { min: 1, max: 365 },
  /** 0: no reminder before the volume is deleted. */
  volumeReminderDays: { min: 0, max: 30 },
} as const;
const { idleMinutes, lifetimeHours, workspacesPerUser, volumeGb, volumeTotalGbPerUser } = policyBounds;
const { volumeRetentionDays, volumeReminderDays } = policyBounds;

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
const gigabytes = (label: string, bounds: { min: number; max: number }) =>
  z
    .number({ error: `Enter the ${label} in GB` })
    .int("Whole gigabytes")
    .min(bounds.min, `At least ${bounds.min} GB`)
    .max(bounds.max, `At most ${bounds.max} GB`);
const days = (label: string, bounds: { min: number; max: number }) =>
  z
    .number({ error: `Enter the ${label} in days` })
    .int("Whole days")
    .min(bounds.min, `At least ${bounds.min} ${bounds.min === 1 ? "day" : "days"}`)
    .max(bounds.max, `At most ${bounds.max} days`);

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
    // An unchecked checkbox is not submitted at all.
    volumesEnabled: z.boolean().default(false),
    volumeDefaultGb: gigabytes("volume size", volumeGb),
    volumeMaxGb: gigabytes("largest volume", volumeGb),
    volumeTotalGbPerUser: gigabytes("total per user", volumeTotalGbPerUser),
    volumeRetentionDays: days("retention", volumeRetentionDays),
    volumeReminderDays: days("reminder", volumeReminderDays),
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
  })
  .refine((form) => form.volumeDefaultGb <= form.volumeMaxGb, {
    path: ["volumeDefaultGb"],
    message: "The volume size is above the largest volume allowed",
  })
  .refine((form) => form.volumeMaxGb <= form.volumeTotalGbPerUser, {
    path: ["volumeMaxGb"],
    message: "The largest volume is above the total a user may have",
  })
  .refine((form) => form.volumeReminderDays < form.volumeRetentionDays, {
    path: ["volumeReminderDays"],
    message: "The reminder must come before the deletion: fewer days than the retention",
  });
