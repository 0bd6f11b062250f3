/** What the daemon may do to a job: advise only, ask before acting, act, or nothing (paused). */
export type JobMode = 'dry-run' | 'approve' | 'auto' | 'paused';
