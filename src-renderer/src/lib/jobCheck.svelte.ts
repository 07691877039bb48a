import type { JobSpecInput } from '../../../src-shared/ipc';
import { api, errorMessage } from './api';

/** One problem main's `jobs.check` found in a spec: where (a dotted path) and what. */
export interface CheckIssue {
  path: string;
  message: string;
}

/**
 * Main's `jobs.check` of a form's spec, run again on every change after a short pause; a late reply
 * for an older spec is dropped. The Calibrate panel and its lumped and basins sections each keep one
 * and call {@link JobCheck.follow} from an `$effect`.
 */
export class JobCheck {
  issues = $state.raw<CheckIssue[]>([]);
  checking = $state(false);
  #seq = 0;

  constructor(private readonly delayMs = 300) {}

  /**
   * Checks `spec` after the pause, or clears the issues when it is null (the form is not ready).
   * Returns the effect's clean-up, which cancels a check not yet sent.
   */
  follow(spec: JobSpecInput | null): (() => void) | undefined {
    const seq = ++this.#seq;
    if (!spec) {
      this.issues = [];
      this.checking = false;
      return undefined;
    }
    this.checking = true;
    const timer = setTimeout(() => {
      api.jobs
        .check({ spec })
        .then((r) => {
          if (seq === this.#seq) this.issues = r.issues;
        })
        .catch((err: unknown) => {
          if (seq === this.#seq)
            this.issues = [{ path: '', message: `cannot check the job: ${errorMessage(err)}` }];
        })
        .finally(() => {
          if (seq === this.#seq) this.checking = false;
        });
    }, this.delayMs);
    return () => clearTimeout(timer);
  }
}
