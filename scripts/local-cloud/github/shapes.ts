// The JSON shapes of GitHub's users, repositories and installations, as the REST API and webhooks send them.
import { listBranches, repoSizeKb } from "../git";
import { isoNow } from "../http";
import type { GitHubRepo, GitHubStore, GitHubUser, Installation } from "./store";

/** The App's configured permissions, as docs/self-hosting.md tells operators to set them. */
export const APP_PERMISSIONS: Record<string, string> = { contents: "write", metadata: "read", pull_requests: "write" };

export function simpleUser(store: GitHubStore, user: GitHubUser) {
  const api = `${store.api}/users/${user.login}`;
  return {
    login: user.login,
    id: user.id,
    node_id: Buffer.from(`04:User${user.id}`).toString("base64"),
    avatar_url: `${store.web}/avatars/${user.login}.png`,
    gravatar_id: "",
    url: api,
    html_url: `${store.web}/${user.login}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type: "User",
    user_view_type: "public",
    site_admin: false,
  };
}

export function privateUser(store: GitHubStore, user: GitHubUser) {
  const owned = store.repos.filter((r) => r.owner === user.login);
  return {
    ...simpleUser(store, user),
    user_view_type: "private",
    name: user.name,
    company: null,
    blog: "",
    location: null,
    email: user.email,
    notification_email: user.email,
    hireable: null,
    bio: null,
    twitter_username: null,
    public_repos: owned.filter((r) => !r.private).length,
    public_gists: 0,
    followers: 0,
    following: 0,
    created_at: user.created_at,
    updated_at: user.created_at,
    private_gists: 0,
    total_private_repos: owned.filter((r) => r.private).length,
    owned_private_repos: owned.filter((r) => r.private).length,
    disk_usage: 0,
    collaborators: 0,
    two_factor_authentication: false,
    plan: { name: "free", space: 976562499, private_repos: 10000, collaborators: 0 },
  };
}

export function repoJson(
  store: GitHubStore,
  repo: GitHubRepo,
  permissions?: { admin: boolean; push: boolean; pull: boolean },
) {
  const full = `${repo.owner}/${repo.name}`;
  const api = `${store.api}/repos/${full}`;
  const branches = listBranches(repo.bare);
  const pushed = isoNow();
  const count = 0;
  return {
    id: repo.id,
    node_id: Buffer.from(`010:Repository${repo.id}`).toString("base64"),
    name: repo.name,
    full_name: full,
    private: repo.private,
    owner: simpleUser(store, store.userOf(repo.owner)),
    html_url: `${store.web}/${full}`,
    description: repo.description,
    fork: false,
    url: api,
    archive_url: `${api}/{archive_format}{/ref}`,
    assignees_url: `${api}/assignees{/user}`,
    blobs_url: `${api}/git/blobs{/sha}`,
    branches_url: `${api}/branches{/branch}`,
    collaborators_url: `${api}/collaborators{/collaborator}`,
    comments_url: `${api}/comments{/number}`,
    commits_url: `${api}/commits{/sha}`,
    compare_url: `${api}/compare/{base}...{head}`,
    contents_url: `${api}/contents/{+path}`,
    contributors_url: `${api}/contributors`,
    deployments_url: `${api}/deployments`,
    downloads_url: `${api}/downloads`,
    events_url: `${api}/events`,
    forks_url: `${api}/forks`,
    git_commits_url: `${api}/git/commits{/sha}`,
    git_refs_url: `${api}/git/refs{/sha}`,
    git_tags_url: `${api}/git/tags{/sha}`,
    git_url: `git://127.0.0.1/${full}.git`,
    issue_comment_url: `${api}/issues/comments{/number}`,
    issue_events_url: `${api}/issues/events{/number}`,
    issues_url: `${api}/issues{/number}`,
    keys_url: `${api}/keys{/key_id}`,
    labels_url: `${api}/labels{/name}`,
    languages_url: `${api}/languages`,
    merges_url: `${api}/merges`,
    milestones_url: `${api}/milestones{/number}`,
    notifications_url: `${api}/notifications{?since,all,participating}`,
    pulls_url: `${api}/pulls{/number}`,
    releases_url: `${api}/releases{/id}`,
    ssh_url: `git@127.0.0.1:${full}.git`,
    stargazers_url: `${api}/stargazers`,
    statuses_url: `${api}/statuses/{sha}`,
    subscribers_url: `${api}/subscribers`,
    subscription_url: `${api}/subscription`,
    tags_url: `${api}/tags`,
    teams_url: `${api}/teams`,
    trees_url: `${api}/git/trees{/sha}`,
    clone_url: `${store.web}/${full}.git`,
    mirror_url: null,
    hooks_url: `${api}/hooks`,
    svn_url: `${store.web}/${full}`,
    homepage: null,
    language: "Markdown",
    forks_count: count,
    stargazers_count: count,
    watchers_count: count,
    size: repoSizeKb(repo.bare),
    default_branch: branches.some((b) => b.name === "main") ? "main" : (branches[0]?.name ?? "main"),
    open_issues_count: 0,
    is_template: false,
    topics: [],
    has_issues: true,
    has_projects: true,
    has_wiki: true,
    has_pages: false,
    has_downloads: true,
    has_discussions: false,
    archived: false,
    disabled: false,
    visibility: repo.private ? "private" : "public",
    pushed_at: pushed,
    created_at: repo.created_at,
    updated_at: repo.created_at,
    ...(permissions ? { permissions } : {}),
    allow_forking: true,
    web_commit_signoff_required: false,
    license: null,
    forks: count,
    open_issues: 0,
    watchers: count,
  };
}

export function fullRepoJson(
  store: GitHubStore,
  repo: GitHubRepo,
  permissions?: { admin: boolean; push: boolean; pull: boolean },
) {
  return { ...repoJson(store, repo, permissions), network_count: 0, subscribers_count: 0, temp_clone_token: null };
}

export function installationJson(store: GitHubStore, installation: Installation) {
  return {
    id: installation.id,
    client_id: store.cloud.options.githubClientId,
    account: simpleUser(store, store.userOf(installation.account)),
    repository_selection: installation.selection,
    access_tokens_url: `${store.api}/app/installations/${installation.id}/access_tokens`,
    repositories_url: `${store.api}/installation/repositories`,
    html_url: `${store.web}/settings/installations/${installation.id}`,
    app_id: Number(store.cloud.options.githubAppId),
    app_slug: store.cloud.options.githubAppSlug,
    target_id: store.userOf(installation.account).id,
    target_type: "User",
    permissions: installation.permissions,
    events: [],
    created_at: installation.created_at,
    updated_at: installation.updated_at,
    single_file_name: null,
    has_multiple_single_files: false,
    single_file_paths: [],
    suspended_by: installation.suspended_by ? simpleUser(store, store.userOf(installation.suspended_by)) : null,
    suspended_at: installation.suspended_at,
  };
}
