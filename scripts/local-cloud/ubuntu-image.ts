// The server's file system as Ubuntu 24.04 ships it, as far as a boot script or a terminal notices: its PATH
// holds symlinks to this machine's tools, and its session user has a uid of its own that must be able to
// enter the server's directory.
import { accessSync, constants, existsSync, statSync, symlinkSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/**
 * What Ubuntu 24.04's server image ships that a boot script, an install script or a terminal is likely to
 * call; each becomes a symlink on the server's PATH when this machine has it. No node, npm or npx.
 */
export const UBUNTU_TOOLS = [
  "sh",
  "bash",
  "dash",
  "env",
  "ls",
  "cat",
  "cp",
  "mv",
  "rm",
  "mkdir",
  "rmdir",
  "chmod",
  "chown",
  "ln",
  "pwd",
  "echo",
  "printf",
  "test",
  "[",
  "true",
  "false",
  "id",
  "whoami",
  "groups",
  "logname",
  "uname",
  "hostname",
  "date",
  "sleep",
  "head",
  "tail",
  "wc",
  "sort",
  "uniq",
  "cut",
  "tr",
  "tee",
  "grep",
  "egrep",
  "sed",
  "awk",
  "find",
  "xargs",
  "which",
  "dirname",
  "basename",
  "readlink",
  "realpath",
  "stat",
  "touch",
  "du",
  "df",
  "ps",
  "kill",
  "git",
  "curl",
  "wget",
  "tar",
  "gzip",
  "gunzip",
  "zcat",
  "xz",
  "sha256sum",
  "sha1sum",
  "md5sum",
  "vim",
  "vi",
  "less",
  "more",
  "clear",
  "tput",
  "reset",
  "stty",
  "tty",
  "ssh",
  "scp",
  "ssh-keygen",
  "diff",
  "cmp",
  "mktemp",
  "nproc",
  "seq",
  "expr",
  "python3",
  "perl",
  "unzip",
  "file",
  "ip",
  "top",
  "jq",
  "tmux",
  "openssl",
  "patch",
  "install",
  "timeout",
  "nohup",
  "getent",
  "locale",
  "infocmp",
  "tic",
  "bc",
  "base64",
  "yes",
  "tac",
  "nl",
  "fold",
  "od",
  "split",
  "comm",
  "join",
  "paste",
  "mkfifo",
  "sync",
  "chgrp",
  "lsof",
  "free",
  "uptime",
  "pgrep",
  "pkill",
  "watch",
  "ssh-agent",
  "gpg",
  "man",
];
/** Where this machine keeps what Ubuntu keeps in /usr/bin; /usr/local is this machine's own additions. */
const HOST_TOOL_DIRS = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"];

/** Links what Ubuntu ships into the server's bin directory, when this machine has it. */
export function linkTools(binDir: string, names: string[]): string[] {
  const missing: string[] = [];
  for (const name of names) {
    const target = HOST_TOOL_DIRS.map((d) => join(d, name)).find((candidate) => {
      try {
        accessSync(candidate, constants.X_OK);
        return statSync(candidate).isFile();
      } catch {
        return false;
      }
    });
    if (!target) {
      missing.push(name);
      continue;
    }
    if (!existsSync(join(binDir, name))) symlinkSync(target, join(binDir, name));
  }
  return missing;
}

/** Each local server's session user has a uid of its own; nothing on this machine needs to know it. */
export const LOCAL_UID_BASE = 200_000;

/** The first directory from `dir` up to / that `uid` cannot enter, if any. */
export function notEnterable(dir: string, uid: number): string | null {
  for (let current = resolve(dir); ; current = dirname(current)) {
    const { mode, uid: owner } = statSync(current);
    if (!(mode & 0o001 || (owner === uid && mode & 0o100))) return current;
    if (current === "/") return null;
  }
}
