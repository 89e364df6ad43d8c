import { CONSENT_DENIED } from '../codes.js';
import { AitoearnError, named } from '../errors.js';
import type { AuthSession, ConnectedAccount, Platform, SelectableAccount } from '../types.js';
import { show } from '../validate.js';
import { newSessionId } from './ids.js';
import type { ParsedOutcome, ParsedSessionSpec } from './session-spec.js';

/** An account the platform would connect: what the user sees and the local id it becomes. */
interface Candidate {
  readonly accountId: string;
  readonly platformUid: string;
  readonly displayName: string;
}

/** Where a session stands at one instant. */
type Phase =
  | { readonly status: 'pending'; readonly selecting: boolean }
  | { readonly status: 'completed'; readonly chosen: readonly Candidate[] }
  | { readonly status: 'failed'; readonly errorCode: number };

/** A stored session. Its state is computed from timestamps when asked, so no timer exists. */
export interface StoredSession {
  readonly id: string;
  readonly platform: Platform;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly outcome: ParsedOutcome;
  readonly candidates: readonly Candidate[];
  /** Where the person's browser goes after an approval (the start operation's query). */
  readonly callbackUrl: string | undefined;
  readonly redirectUri: string | undefined;
  /** A person's answer on the consent page; it overrides the scripted outcome. */
  decision: Phase | undefined;
}

/** The start operation's browser targets of a session. */
export interface BrowserTargets {
  readonly callbackUrl: string | undefined;
  readonly redirectUri: string | undefined;
}

const NO_TARGETS: BrowserTargets = { callbackUrl: undefined, redirectUri: undefined };

/** Why a person's action on a session was refused, with the HTTP status to answer. */
export interface ActionRefusal {
  readonly httpStatus: 400 | 404 | 409;
  readonly message: string;
  readonly field?: string;
}

export type ActionResult =
  | { readonly ok: true; readonly session: AuthSession }
  | { readonly ok: false; readonly refusal: ActionRefusal };

/** Thrown by `createSession()` when the sandbox holds `maxSessions` unexpired sessions (HTTP: 429). */
export class SandboxFullError extends AitoearnError {
  static {
    named(SandboxFullError, 'SandboxFullError');
  }
  /** How long until the earliest session expires and frees a place, in milliseconds. */
  readonly retryAfterMs: number;

  constructor(maxSessions: number, retryAfterMs: number) {
    super(
      `The sandbox already holds "maxSessions" = ${maxSessions} unexpired sessions; the next one expires in ${retryAfterMs} ms.`,
    );
    this.retryAfterMs = retryAfterMs;
  }
}

function candidatesFor(platform: Platform, outcome: ParsedOutcome): Candidate[] {
  const names = 'accounts' in outcome ? outcome.accounts : ['Sandbox account 1'];
  // Stable ids: connecting the same platform account again yields the same ids, as on the real service.
  return names.map((displayName, i) => ({
    accountId: `sandbox-${platform}-${i + 1}`,
    platformUid: `sandbox-uid-${i + 1}`,
    displayName,
  }));
}

function scriptedPhase(session: StoredSession, now: number): Phase {
  const { outcome, candidates, createdAt } = session;
  switch (outcome.type) {
    case 'complete':
      return now >= createdAt + outcome.afterMs
        ? { status: 'completed', chosen: candidates }
        : { status: 'pending', selecting: false };
    case 'fail':
      return now >= createdAt + outcome.afterMs
        ? { status: 'failed', errorCode: outcome.errorCode }
        : { status: 'pending', selecting: false };
    case 'select':
      return outcome.afterMs !== undefined && now >= createdAt + outcome.afterMs
        ? { status: 'completed', chosen: candidates.slice(0, 1) }
        : { status: 'pending', selecting: true };
    case 'never':
    case 'manual':
      return { status: 'pending', selecting: false };
  }
}

function phaseAt(session: StoredSession, now: number): Phase {
  return session.decision ?? scriptedPhase(session, now);
}

/** The sessions of one sandbox, bounded by `maxSessions`; expired sessions are dropped when met. */
export class SessionStore {
  readonly #sessions = new Map<string, StoredSession>();
  readonly #max: number;
  readonly #defaultLifetimeMs: number;

  constructor(max: number, defaultLifetimeMs: number) {
    this.#max = max;
    this.#defaultLifetimeMs = defaultLifetimeMs;
  }

  get size(): number {
    return this.#sessions.size;
  }

  create(spec: ParsedSessionSpec, now: number, targets: BrowserTargets = NO_TARGETS): StoredSession {
    if (this.#sessions.size >= this.#max) this.#sweep(now);
    if (this.#sessions.size >= this.#max) {
      let earliest = Number.POSITIVE_INFINITY;
      for (const s of this.#sessions.values()) earliest = Math.min(earliest, s.expiresAt);
      throw new SandboxFullError(this.#max, Math.max(0, earliest - now));
    }
    let id = newSessionId();
    // 96 random bits make a collision absurdly unlikely; an overwritten session would still be a bug.
    while (this.#sessions.has(id)) id = newSessionId();
    const session: StoredSession = {
      id,
      platform: spec.platform,
      createdAt: now,
      expiresAt: now + (spec.lifetimeMs ?? this.#defaultLifetimeMs),
      outcome: spec.outcome,
      candidates: candidatesFor(spec.platform, spec.outcome),
      callbackUrl: targets.callbackUrl,
      redirectUri: targets.redirectUri,
      decision: undefined,
    };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The session if it exists and has not expired; an expired one is dropped (the API forgets it too). */
  get(id: string, now: number): StoredSession | undefined {
    const session = this.#sessions.get(id);
    if (session && now >= session.expiresAt) {
      this.#sessions.delete(id);
      return undefined;
    }
    return session;
  }

  /** The session as the status endpoint reports it at `now`. */
  view(session: StoredSession, now: number): AuthSession {
    const base = {
      sessionId: session.id,
      expiresAt: new Date(session.expiresAt).toISOString(),
    };
    const phase = phaseAt(session, now);
    switch (phase.status) {
      case 'pending':
        if (!phase.selecting) return { ...base, status: 'pending', requiresSelection: false };
        return {
          ...base,
          status: 'pending',
          requiresSelection: true,
          selectableAccounts: session.candidates.map(
            (c): SelectableAccount => ({
              platform: session.platform,
              platformUid: c.platformUid,
              displayName: c.displayName,
            }),
          ),
        };
      case 'completed': {
        const accounts = phase.chosen.map(
          (c): ConnectedAccount => ({
            accountId: c.accountId,
            platform: session.platform,
            platformUid: c.platformUid,
            displayName: c.displayName,
          }),
        );
        const accountIds = accounts.map((a) => a.accountId);
        return {
          ...base,
          status: 'completed',
          requiresSelection: false,
          ...(accountIds[0] === undefined ? {} : { accountId: accountIds[0] }),
          accountIds,
          accounts,
        };
      }
      case 'failed':
        return { ...base, status: 'failed', requiresSelection: false, errorCode: phase.errorCode };
    }
  }

  /** The accounts a person may connect on the consent page. */
  candidates(session: StoredSession): readonly Candidate[] {
    return session.candidates;
  }

  /** Whether the session waits for the person to choose accounts at `now`. */
  isPendingAt(session: StoredSession, now: number): { pending: boolean; selecting: boolean } {
    const phase = phaseAt(session, now);
    return { pending: phase.status === 'pending', selecting: phase.status === 'pending' && phase.selecting };
  }

  approve(id: string, now: number): ActionResult {
    return this.#decide(id, now, (session, selecting) => {
      if (selecting) {
        return {
          httpStatus: 409,
          message: `Session ${id} requires choosing accounts: POST /sandbox/sessions/${id}/select with {"platformUids": [...]}.`,
        };
      }
      return { status: 'completed', chosen: session.candidates };
    });
  }

  deny(id: string, now: number): ActionResult {
    return this.#decide(id, now, () => ({ status: 'failed', errorCode: CONSENT_DENIED }));
  }

  select(id: string, now: number, platformUids: unknown): ActionResult {
    return this.#decide(id, now, (session, selecting) => {
      if (!selecting) {
        return {
          httpStatus: 409,
          message: `Session ${id} does not ask to choose accounts; approve or deny it instead.`,
        };
      }
      const known = new Map(session.candidates.map((c) => [c.platformUid, c]));
      const list = typeof platformUids === 'string' ? [platformUids] : platformUids;
      const offered = [...known.keys()].map((uid) => JSON.stringify(uid)).join(', ');
      if (!Array.isArray(list) || list.length === 0) {
        return {
          httpStatus: 400,
          field: 'platformUids',
          message: `Expected "platformUids" to be a non-empty array of offered account uids (${offered}), got ${show(list)}.`,
        };
      }
      const chosen: Candidate[] = [];
      for (const [i, uid] of list.entries()) {
        const candidate = typeof uid === 'string' ? known.get(uid) : undefined;
        if (!candidate) {
          return {
            httpStatus: 400,
            field: `platformUids[${i}]`,
            message: `Expected "platformUids[${i}]" to be one of the offered account uids (${offered}), got ${show(uid)}.`,
          };
        }
        if (!chosen.includes(candidate)) chosen.push(candidate);
      }
      return { status: 'completed', chosen };
    });
  }

  #decide(
    id: string,
    now: number,
    decide: (session: StoredSession, selecting: boolean) => Phase | ActionRefusal,
  ): ActionResult {
    const session = this.get(id, now);
    if (!session) {
      return {
        ok: false,
        refusal: {
          httpStatus: 404,
          message: `No session ${JSON.stringify(id)}: it never existed or it expired.`,
        },
      };
    }
    const phase = phaseAt(session, now);
    if (phase.status !== 'pending') {
      return {
        ok: false,
        refusal: { httpStatus: 409, message: `Session ${id} is no longer pending: it is ${phase.status}.` },
      };
    }
    const next = decide(session, phase.selecting);
    if ('httpStatus' in next) return { ok: false, refusal: next };
    session.decision = next;
    return { ok: true, session: this.view(session, now) };
  }

  #sweep(now: number): void {
    for (const [id, session] of this.#sessions) {
      if (now >= session.expiresAt) this.#sessions.delete(id);
    }
  }
}
